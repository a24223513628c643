/* walkout customer app: sign up / log in, payment methods, the rotating entry QR, the live cart
 * (/ws/me), receipts and disputes. Mobile first; no framework.
 *
 * For the latency benchmark every live cart message rendered is recorded in
 * window.walkoutLatencies as {session_id, event_unix_s, shown_unix_s, cart: {upc: quantity}},
 * shown_unix_s being the wall clock (Date.now() / 1000) right after the DOM update. Messages
 * the server replays to a page that connects late (sent before the socket opened) are not
 * recorded.
 */
(function () {
  "use strict";
  const { api, live, h, money, duration, listOf } = window.Walkout;
  const saved = window.Walkout.store("walkout.customer");
  const $ = (id) => document.getElementById(id);

  window.walkoutLatencies = window.walkoutLatencies || [];

  const state = {
    token: null,
    me: null,
    socket: null,
    helloUnixS: 0,
    view: null,
    methods: [],
    sessionId: null,
    sessionStatus: null,
    ended: new Set(), // sessions closed or deleted: their late cart messages are ignored
    cart: new Map(), // upc -> quantity last shown (to highlight changes)
    receiptsShown: new Set(),
    qrTimer: null,
    tickTimer: null,
    qrIssuedAt: 0,
    qrLifetimeMs: 0,
    detail: null,
    disputeLine: null,
  };

  // ---------- auth ----------
  function showAuth(message) {
    stopLive();
    stopQr();
    document.querySelectorAll(".view").forEach((v) => v.classList.add("hidden"));
    $("nav").classList.add("hidden");
    $("auth").classList.remove("hidden");
    $("auth-error").textContent = message || "";
    $("live-status").textContent = "";
  }

  function authTab(which) {
    const signup = which === "signup";
    $("tab-login").setAttribute("aria-selected", String(!signup));
    $("tab-signup").setAttribute("aria-selected", String(signup));
    $("login-form").classList.toggle("hidden", signup);
    $("signup-form").classList.toggle("hidden", !signup);
    $("auth-error").textContent = "";
  }
  $("tab-login").addEventListener("click", () => authTab("login"));
  $("tab-signup").addEventListener("click", () => authTab("signup"));

  async function signIn(path, body) {
    $("auth-error").textContent = "";
    try {
      const res = await api(path, { method: "POST", body });
      if (res.role && res.role !== "customer") {
        api("/api/auth/logout", { method: "POST", token: res.token }).catch(() => {});
        $("auth-error").textContent = "This is a staff account: use the store dashboard.";
        return;
      }
      saved.set({ token: res.token, account_id: res.account_id });
      start();
    } catch (e) {
      $("auth-error").textContent = e.status === 401 ? "Wrong e-mail or password." : e.message;
    }
  }

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn("/api/auth/login", { email: $("login-email").value.trim(), password: $("login-password").value });
  });
  $("signup-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    signIn("/api/auth/signup", {
      name: $("signup-name").value.trim(),
      email: $("signup-email").value.trim(),
      password: $("signup-password").value,
    });
  });

  $("logout").addEventListener("click", () => {
    const token = state.token;
    saved.clear();
    state.token = null;
    if (token) api("/api/auth/logout", { method: "POST", token }).catch(() => {});
    showAuth();
  });

  async function call(path, opts) {
    try {
      return await api(path, { ...(opts || {}), token: state.token });
    } catch (e) {
      if (e.status === 401) {
        saved.clear();
        state.token = null;
        showAuth("Please log in again.");
      }
      throw e;
    }
  }

  async function start() {
    const s = saved.get();
    if (!s || !s.token) return showAuth();
    state.token = s.token;
    try {
      state.me = await call("/api/me");
    } catch (e) {
      if (e.status === 401) return;
      return showAuth(e.message);
    }
    $("auth").classList.add("hidden");
    $("nav").classList.remove("hidden");
    $("account-who").textContent = [state.me.name, state.me.email].filter(Boolean).join(" · ");
    await loadMethods();
    await loadSession();
    connectLive();
    loadReceipts();
    show(state.sessionStatus === "open" ? "cart" : state.methods.length ? "enter" : "account");
  }

  // ---------- views ----------
  function show(view) {
    state.view = view;
    document.querySelectorAll(".view").forEach((v) => v.classList.toggle("hidden", v.id !== "view-" + view));
    document.querySelectorAll("#nav button").forEach((b) => {
      if (b.dataset.view === view) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    });
    if (view === "enter") startQr();
    else stopQr();
    if (view === "receipts") loadReceipts();
  }
  document.querySelectorAll("#nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
  document.querySelectorAll("[data-goto]").forEach((b) => b.addEventListener("click", () => show(b.dataset.goto)));

  // ---------- payment methods ----------
  async function loadMethods() {
    try {
      state.methods = listOf(await call("/api/me/payment-methods"), "payment_methods");
    } catch (e) {
      state.methods = [];
    }
    const ul = $("methods");
    ul.replaceChildren(...state.methods.map((m) =>
      h("li", { "data-method": m.method_id ?? "" }, h("span", {}, m.label),
        m.is_default ? h("span", { class: "badge ok" }, "default") : null)));
    $("methods-empty").classList.toggle("hidden", state.methods.length > 0);
    $("no-method").classList.toggle("hidden", state.methods.length > 0);
  }

  $("method-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("method-error").textContent = "";
    try {
      await call("/api/me/payment-methods", { method: "POST", body: { label: $("method-label").value.trim() } });
      $("method-label").value = "";
      await loadMethods();
    } catch (e) {
      $("method-error").textContent = e.message;
    }
  });

  // ---------- entry QR ----------
  function stopQr() {
    clearTimeout(state.qrTimer);
    clearInterval(state.tickTimer);
    state.qrTimer = state.tickTimer = null;
  }

  async function startQr() {
    stopQr();
    $("qr-error").textContent = "";
    let tok;
    try {
      tok = await call("/api/me/entry-token");
    } catch (e) {
      $("qr").replaceChildren();
      $("qr-token").textContent = "";
      $("qr-countdown").textContent = "";
      $("qr-error").textContent = e.message;
      if (e.status !== 401 && state.view === "enter") state.qrTimer = setTimeout(startQr, 5000);
      return;
    }
    if (state.view !== "enter") return;
    // the SVG comes from our own server (segno), not from user input
    $("qr").innerHTML = tok.svg;
    const svg = $("qr").querySelector("svg");
    if (svg && !svg.hasAttribute("viewBox") && svg.getAttribute("width")) {
      // scale the code to the box: give it a viewBox in its own pixel size
      svg.setAttribute("viewBox", "0 0 " + parseFloat(svg.getAttribute("width")) + " " + parseFloat(svg.getAttribute("height")));
    }
    if (svg) svg.setAttribute("shape-rendering", "crispEdges");
    $("qr-token").textContent = tok.token;
    $("qr").dataset.token = tok.token;
    const lifetime = Number(tok.expires_in_s) || 30;
    state.qrIssuedAt = Date.now();
    state.qrLifetimeMs = lifetime * 1000;
    // refresh 5 s before expiry so the gate never sees a stale code
    state.qrTimer = setTimeout(startQr, Math.max(1, lifetime - 5) * 1000);
    tick();
    state.tickTimer = setInterval(tick, 1000);
  }

  function tick() {
    const left = Math.max(0, state.qrLifetimeMs - (Date.now() - state.qrIssuedAt));
    const secs = Math.ceil(left / 1000);
    $("qr-countdown").textContent = "Valid for " + secs + " s";
    $("qr-countdown").dataset.seconds = secs;
    $("qr-bar").style.width = ((100 * left) / state.qrLifetimeMs).toFixed(1) + "%";
  }

  // a phone that wakes up gets a fresh code at once
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.view === "enter" && state.token) startQr();
  });

  // ---------- live cart ----------
  async function loadSession() {
    try {
      const s = await call("/api/me/session");
      if (!s || !s.session_id) throw Object.assign(new Error("not in the store"), { status: 404 });
      state.sessionId = s.session_id;
      state.sessionStatus = s.status;
      renderStatus();
      renderCart(s.cart || [], s.subtotal_cents || 0, s.currency);
    } catch (e) {
      if (e.status !== 404) console.warn("walkout: session", e);
      state.sessionId = null;
      state.sessionStatus = null;
      renderStatus();
      renderCart([], 0);
    }
  }

  function stopLive() {
    if (state.socket) state.socket.close();
    state.socket = null;
  }

  function connectLive() {
    stopLive();
    let dropped = false;
    state.socket = live("/ws/me", state.token, {
      message: onMessage,
      status(st) {
        $("live-status").textContent = st === "live" ? "● live" : st === "denied" ? "" : "○ " + st + "…";
        if (st === "reconnecting") dropped = true;
        if (st === "live" && dropped) { dropped = false; loadSession(); }
      },
      denied() { saved.clear(); showAuth("Please log in again."); },
    });
  }

  function onMessage(m) {
    if (m.type === "hello") { state.helloUnixS = m.t_unix_s || Date.now() / 1000; return; }
    if (m.type === "session") return onSession(m);
    if (m.type === "cart") return onCart(m);
    if (m.type === "receipt") return onReceipt(m);
  }

  function onSession(m) {
    if (m.status === "closed" || m.status === "deleted") state.ended.add(m.session_id);
    if (m.session_id !== state.sessionId) {
      if (m.status !== "open") return; // an old session's news
      state.sessionId = m.session_id;
      renderCart([], 0);
    }
    const wasOpen = state.sessionStatus === "open";
    state.sessionStatus = m.status;
    renderStatus();
    if (m.status === "open" && !wasOpen && state.view === "enter") show("cart");
    if (m.status === "deleted") renderCart([], 0);
  }

  function onCart(m) {
    if (state.ended.has(m.session_id)) return;
    if (m.session_id !== state.sessionId) {
      state.sessionId = m.session_id;
      state.sessionStatus = "open";
      renderStatus();
    }
    renderCart(m.cart || [], m.subtotal_cents || 0, m.currency);
    const shown = Date.now() / 1000;
    const replayed = m.sent_unix_s && state.helloUnixS && m.sent_unix_s < state.helloUnixS;
    if (!replayed && m.event_unix_s != null) {
      const cart = {};
      for (const line of m.cart || []) cart[line.upc] = line.quantity;
      window.walkoutLatencies.push({ session_id: m.session_id, event_unix_s: m.event_unix_s, shown_unix_s: shown, cart });
    }
  }

  function renderStatus() {
    const st = state.sessionStatus;
    $("session-status").textContent =
      st === "open" ? "You are in the store. Take what you need: your cart updates as you shop." :
      st === "exited" ? "You left the store. Your receipt is on its way." :
      st === "closed" ? "Thanks for shopping!" :
      st === "deleted" ? "Your visit was cancelled: nothing was charged." :
      "You are not in the store.";
    $("session-status").dataset.status = st || "none";
  }

  function renderCart(lines, subtotalCents, currency) {
    const ul = $("cart");
    const before = state.cart;
    const now = new Map();
    ul.replaceChildren();
    let count = 0;
    for (const l of lines) {
      if (!l.quantity) continue;
      count += l.quantity;
      now.set(l.upc, l.quantity);
      const changed = before.get(l.upc) !== l.quantity;
      ul.append(h("li", { class: changed ? "fresh" : "", "data-upc": l.upc, "data-quantity": l.quantity },
        h("span", { class: "qty" }, l.quantity + "×"),
        h("span", { class: "name" }, l.name || l.upc),
        h("span", { class: "num" }, money(l.quantity * (l.unit_price_cents || 0), currency))));
    }
    state.cart = now;
    $("cart-empty").classList.toggle("hidden", count > 0);
    $("cart-subtotal").textContent = money(subtotalCents, currency);
    $("cart").dataset.items = count;
    $("nav-cart-count").textContent = count ? "(" + count + ")" : "";
  }

  function onReceipt(m) {
    state.ended.add(m.session_id);
    if (m.session_id === state.sessionId) {
      state.sessionStatus = "closed";
      renderStatus();
      renderCart([], 0);
    }
    if (state.receiptsShown.has(m.session_id)) return;
    state.receiptsShown.add(m.session_id);
    const banner = $("receipt-banner");
    const view = h("button", { type: "button", class: "link" }, "View receipt");
    view.addEventListener("click", () => { show("receipts"); openReceipt(m.session_id); });
    banner.replaceChildren("Receipt ready: " + money(m.total_cents, m.currency) + " for " +
      (m.lines || []).reduce((a, l) => a + l.quantity, 0) + " item(s). ", view);
    banner.dataset.session = m.session_id;
    banner.classList.remove("hidden");
    loadReceipts();
  }

  // ---------- receipts ----------
  async function loadReceipts() {
    let rows;
    try {
      rows = listOf(await call("/api/me/receipts"), "receipts");
    } catch (e) {
      return;
    }
    const box = $("receipts");
    box.replaceChildren(...rows.map((r) => {
      const when = r.created_at || r.closed_at || "";
      const n = Array.isArray(r.lines) ? r.lines.length : r.lines;
      const b = h("button", { type: "button", class: "list-button", "data-session": r.session_id },
        h("span", {}, h("b", {}, when ? new Date(when).toLocaleString() : r.session_id),
          h("br"), h("span", { class: "muted" }, n === 1 ? "1 line" : (n ?? 0) + " lines")),
        h("b", {}, money(r.total_cents, r.currency)));
      b.addEventListener("click", () => openReceipt(r.session_id));
      return b;
    }));
    $("receipts-empty").classList.toggle("hidden", rows.length > 0);
  }

  async function openReceipt(sessionId) {
    $("dispute-result").textContent = "";
    $("dispute-error").textContent = "";
    $("dispute-form").classList.add("hidden");
    let r;
    try {
      r = await call("/api/me/receipts/" + encodeURIComponent(sessionId));
    } catch (e) {
      $("dispute-error").textContent = e.message;
      return;
    }
    state.detail = r;
    $("receipts-card").classList.add("hidden");
    $("receipt-detail").classList.remove("hidden");
    $("receipt-detail").dataset.session = r.session_id;
    const inStore = r.time_in_store_s ?? (r.exit_t_s != null && r.entry_t_s != null ? r.exit_t_s - r.entry_t_s : null);
    $("receipt-title").textContent = "Receipt";
    $("receipt-meta").textContent = [r.session_id, inStore != null ? "in store " + duration(inStore) : "",
      (r.payments || []).filter((p) => p.kind === "charge" && p.status === "succeeded").map((p) => "paid with " + (p.method_label || "card"))[0]]
      .filter(Boolean).join(" · ");
    const disputed = new Map();
    for (const d of r.disputes || []) {
      if (!disputed.has(d.line_no)) disputed.set(d.line_no, []);
      disputed.get(d.line_no).push(d);
    }
    const body = $("receipt-lines").tBodies[0];
    body.replaceChildren();
    (r.lines || []).forEach((l, i) => {
      const lineNo = l.line_no ?? i; // 0-based, the receipt's line order
      const left = l.quantity - (disputed.get(lineNo) || []).reduce((a, d) => a + d.quantity, 0);
      const btn = left > 0 ? h("button", { type: "button", class: "link", "data-line": lineNo }, "Dispute") : null;
      if (btn) btn.addEventListener("click", () => openDispute(lineNo, { ...l, quantity: left }));
      const notes = (disputed.get(lineNo) || []).map((d) =>
        h("div", { class: "muted", style: "font-size:12px" }, disputeStatus(d) + " (" + d.quantity + ")"));
      body.append(h("tr", { "data-line": lineNo },
        h("td", {}, l.name || l.upc, notes),
        h("td", { class: "num" }, l.quantity),
        h("td", { class: "num" }, money(l.line_total_cents ?? l.quantity * l.unit_price_cents, r.currency)),
        h("td", { class: "num" }, btn)));
    });
    $("receipt-subtotal").textContent = money(r.subtotal_cents, r.currency);
    $("receipt-tax").textContent = money(r.tax_cents, r.currency);
    $("receipt-total").textContent = money(r.total_cents, r.currency);
  }

  $("receipt-back").addEventListener("click", () => {
    $("receipt-detail").classList.add("hidden");
    $("receipts-card").classList.remove("hidden");
    loadReceipts();
  });

  function openDispute(lineNo, line) {
    state.disputeLine = lineNo;
    $("dispute-title").textContent = "Report a problem with " + (line.name || line.upc);
    $("dispute-quantity").max = line.quantity;
    $("dispute-quantity").value = 1;
    $("dispute-reason").value = "";
    $("dispute-result").textContent = "";
    $("dispute-error").textContent = "";
    $("dispute-form").classList.remove("hidden");
    $("dispute-reason").focus();
  }
  $("dispute-cancel").addEventListener("click", () => $("dispute-form").classList.add("hidden"));

  $("dispute-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("dispute-error").textContent = "";
    const sid = state.detail && state.detail.session_id;
    try {
      const res = await call("/api/me/receipts/" + encodeURIComponent(sid) + "/disputes", {
        method: "POST",
        body: { line_no: state.disputeLine, quantity: parseInt($("dispute-quantity").value, 10), reason: $("dispute-reason").value.trim() },
      });
      $("dispute-form").classList.add("hidden");
      const text = disputeText(res);
      await openReceipt(sid); // shows the line's new status
      $("dispute-result").textContent = text;
    } catch (e) {
      $("dispute-error").textContent = e.message;
    }
  });

  function disputeStatus(d) {
    return { refunded: "Refunded", in_review: "Being reviewed", rejected: "Not accepted" }[d.status] || d.status;
  }

  function disputeText(res) {
    const currency = state.detail && state.detail.currency;
    if (res && res.status === "refunded") return "Refunded " + money(res.amount_cents, currency) + ". Sorry about that!";
    if (res && res.status === "rejected") return "We could not accept this report.";
    return "Thanks: a store associate will review it" + (res && res.dispute_id != null ? " (report #" + res.dispute_id + ")" : "") + ".";
  }

  window.walkoutApp = { state, show };
  start();
})();

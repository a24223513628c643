/* walkout manager dashboard: live store map, event feed, sessions, inventory, review queue,
 * sensor health and latency. Reads /api/* with the staff bearer token and listens on /ws/live.
 *
 * Map frame: SVG user units are metres of the store's world frame with y flipped, i.e. the
 * world point (x, y) is drawn at SVG (x, -y): x to the right, y up, as seen from the ceiling.
 */
(function () {
  "use strict";
  const { api, live, h, s, money, listOf } = window.Walkout;
  const session = window.Walkout.store("walkout.staff");
  const $ = (id) => document.getElementById(id);

  const FEED_MAX = 150;
  const CLOSED_SHOWN = 12;
  const state = {
    token: null,
    socket: null,
    wasLive: false,
    products: new Map(), // upc -> product
    plates: new Map(), // "G.S.P" -> SVG polygon
    people: new Map(), // person id -> SVG group
    sessions: new Map(), // session_id -> row data
    inventory: new Map(), // upc -> {name, units, plates, threshold, low}
    plateUnits: new Map(), // "plate|upc" -> units
    reviews: new Map(), // review_id -> item
    feedKeys: new Set(),
    health: null,
    latency: null,
  };

  // ---------- sign in ----------
  function showLogin(message) {
    $("main").classList.add("hidden");
    $("login").classList.remove("hidden");
    $("login-error").textContent = message || "";
    $("login-email").focus();
  }

  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    $("login-error").textContent = "";
    try {
      const res = await api("/api/auth/login", {
        method: "POST",
        body: { email: $("login-email").value.trim(), password: $("login-password").value },
      });
      if (res.role !== "manager" && res.role !== "associate") {
        api("/api/auth/logout", { method: "POST", token: res.token }).catch(() => {});
        $("login-error").textContent = "This dashboard is for store staff; shoppers use the walkout app.";
        return;
      }
      session.set({ token: res.token, role: res.role, account_id: res.account_id, email: $("login-email").value.trim() });
      $("login-password").value = "";
      start();
    } catch (e) {
      $("login-error").textContent = e.status === 401 ? "Wrong e-mail or password." : e.message;
    }
  });

  $("logout").addEventListener("click", async () => {
    const token = state.token;
    stop();
    session.clear();
    if (token) api("/api/auth/logout", { method: "POST", token }).catch(() => {});
    showLogin();
  });

  function stop() {
    if (state.socket) state.socket.close();
    state.socket = null;
    state.token = null;
  }

  /* An API call with the staff token; a 401 sends the user back to the sign-in form. */
  async function call(path, opts) {
    try {
      return await api(path, { ...(opts || {}), token: state.token });
    } catch (e) {
      if (e.status === 401) {
        stop();
        session.clear();
        showLogin("Your session has expired; please sign in again.");
      }
      throw e;
    }
  }

  async function start() {
    const saved = session.get();
    if (!saved || !saved.token) return showLogin();
    state.token = saved.token;
    $("login").classList.add("hidden");
    $("main").classList.remove("hidden");
    $("who").textContent = saved.email ? saved.email + " · " + saved.role : saved.role;
    try {
      const me = await call("/api/me");
      if (me && me.role && me.role !== "manager" && me.role !== "associate") {
        stop();
        session.clear();
        return showLogin("This dashboard is for store staff.");
      }
      if (me && (me.name || me.email)) $("who").textContent = (me.name || me.email) + " · " + (me.role || saved.role);
    } catch (e) {
      if (e.status === 401) return;
    }
    await loadProducts();
    await Promise.all([loadStore(), loadSessions(), loadInventory(), loadReview()]);
    connect();
  }

  function connect() {
    state.wasLive = false;
    state.socket = live("/ws/live", state.token, {
      message: onMessage,
      status(st) {
        const el = $("conn");
        el.className = "conn " + st;
        el.textContent = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", denied: "signed out" }[st] || st;
        if (st === "live") {
          // after a drop, catch up on what the pushes may have missed
          if (state.wasLive) Promise.all([loadSessions(), loadInventory(), loadReview()]).catch(() => {});
          state.wasLive = true;
        }
      },
      denied() {
        session.clear();
        stop();
        showLogin("Your session has expired; please sign in again.");
      },
    });
  }

  // ---------- live messages ----------
  function onMessage(msg) {
    switch (msg.type) {
      case "people": return drawPeople(msg);
      case "shelf_event": return onShelfEvent(msg);
      case "cart": return onCart(msg);
      case "session": return onSession(msg);
      case "receipt": return onReceipt(msg);
      case "scan": return onScan(msg);
      case "review": return onReview(msg);
      case "stock": return onStock(msg);
      case "health": return drawHealth(msg);
      case "latency": return drawLatency(msg);
      case "day": return onDay(msg);
      default: return undefined;
    }
  }

  function onDay(msg) {
    $("day").textContent = msg.status === "start" ? "replaying " + msg.recording : msg.recording + " ended";
    if (msg.status === "end") drawPeople({ people: [] });
    if (msg.status === "start") loadInventory();  // a new store day opens with its planogram's stock
  }

  // ---------- store map ----------
  /* The polygon of a layout item: the first field holding a list of [x, y] pairs. */
  function polygonOf(o) {
    for (const k of ["polygon_xy_m", "polygon_m", "floor_polygon_m", "polygon", "xy_m", "corners_xy_m"]) {
      if (Array.isArray(o[k]) && o[k].length >= 3) return o[k];
    }
    if (Array.isArray(o.ltrb_m)) return rect(o.ltrb_m);
    return null;
  }
  function rect(ltrb) {
    const [l, t, r, b] = ltrb;
    return [[l, t], [r, t], [r, b], [l, b]];
  }
  const pts = (poly) => poly.map(([x, y]) => x.toFixed(4) + "," + (-y).toFixed(4)).join(" ");
  const idOf = (o) => String(o.id ?? o.plate_id ?? o.shelf_id ?? o.gondola_id ?? "");

  async function loadStore() {
    const layout = await call("/api/store");
    const svg = $("map");
    svg.replaceChildren();
    state.plates.clear();
    const floor = layout.floor_ltrb_m || (layout.floor && (layout.floor.ltrb_m || layout.floor.floor_ltrb_m)) || [0, 0, 10, 10];
    const [l, t, r, b] = floor;
    const pad = 0.25;
    svg.setAttribute("viewBox", [l - pad, -b - pad, r - l + 2 * pad, b - t + 2 * pad].map((v) => v.toFixed(3)).join(" "));
    svg.dataset.floor = JSON.stringify(floor);
    svg.append(s("polygon", { class: "floor", points: pts(rect(floor)) }));
    const layer = s("g", { id: "map-layout" });
    for (const g of layout.gondolas || []) {
      const poly = polygonOf(g);
      if (!poly) continue;
      layer.append(s("polygon", { class: "gondola", points: pts(poly), "data-gondola": idOf(g) }));
    }
    for (const sh of layout.shelves || []) {
      const poly = polygonOf(sh);
      if (poly) layer.append(s("polygon", { class: "shelf", points: pts(poly), "data-shelf": idOf(sh) }));
    }
    for (const p of layout.plates || []) {
      const poly = polygonOf(p);
      if (!poly) continue;
      const id = idOf(p);
      const el = s("polygon", { class: "plate", points: pts(poly), "data-plate": id }, s("title", {}, "plate " + id));
      state.plates.set(id, el);
      layer.append(el);
    }
    for (const g of layout.gondolas || []) {
      const poly = polygonOf(g);
      if (!poly) continue;
      const cx = poly.reduce((a, p) => a + p[0], 0) / poly.length;
      const cy = poly.reduce((a, p) => a + p[1], 0) / poly.length;
      layer.append(s("text", { class: "gondola-label", x: cx, y: -cy, "text-anchor": "middle", "dominant-baseline": "middle" }, "G" + idOf(g)));
    }
    for (const gate of layout.gates || []) {
      const a = gate.a_xy_m || (gate.segment_xy_m && gate.segment_xy_m[0]);
      const bb = gate.b_xy_m || (gate.segment_xy_m && gate.segment_xy_m[1]);
      if (!a || !bb) continue;
      layer.append(s("line", { class: "gate " + (gate.kind || ""), x1: a[0], y1: -a[1], x2: bb[0], y2: -bb[1], "data-gate": gate.id }));
      layer.append(s("text", { class: "label", x: (a[0] + bb[0]) / 2, y: -(a[1] + bb[1]) / 2 + 0.3, "text-anchor": "middle" }, gate.id || gate.kind || "gate"));
    }
    svg.append(layer, s("g", { id: "map-people" }));
    state.people.clear();
    if (state.health) markPlates(state.health);
  }

  function drawPeople(msg) {
    const layer = $("map-people");
    if (!layer) return;
    const seen = new Set();
    for (const p of msg.people || []) {
      const id = String(p.person);
      seen.add(id);
      let g = state.people.get(id);
      if (!g) {
        g = s("g", { class: "person", "data-person": id },
          s("circle", { class: "ring", r: 0.26 }),
          s("circle", { class: "body", r: 0.17 }),
          s("circle", { class: "hand", r: 0.05, "data-hand": "0" }),
          s("circle", { class: "hand", r: 0.05, "data-hand": "1" }),
          s("text", { class: "tag", "text-anchor": "middle" }));
        state.people.set(id, g);
        layer.append(g);
      }
      const [x, y] = p.xy_m;
      const sess = p.session_id ? state.sessions.get(p.session_id) : null;
      g.setAttribute("class", "person" + (p.session_id ? "" : " anonymous") + (p.tangled ? " tangled" : "") + (sess && sess.kind === "staff" ? " staff" : ""));
      g.dataset.session = p.session_id || "";
      g.dataset.xM = x;
      g.dataset.yM = y;
      for (const c of g.querySelectorAll("circle.ring, circle.body")) {
        c.setAttribute("cx", x);
        c.setAttribute("cy", -y);
      }
      g.querySelectorAll("circle.hand").forEach((c, i) => {
        const hand = (p.hands || [])[i];
        if (hand) {
          c.setAttribute("cx", hand[0]);
          c.setAttribute("cy", -hand[1]);
          c.removeAttribute("visibility");
        } else {
          c.setAttribute("visibility", "hidden");
        }
      });
      const tag = g.querySelector("text");
      tag.setAttribute("x", x);
      tag.setAttribute("y", -y - 0.32);
      const conf = p.confidence == null ? "" : " " + Math.round(p.confidence * 100) + "%";
      tag.textContent = "#" + id + (p.session_id ? " " + p.session_id : "") + conf;
    }
    for (const [id, g] of state.people) {
      if (!seen.has(id)) {
        g.remove();
        state.people.delete(id);
      }
    }
    const n = state.people.size;
    $("people-count").textContent = n === 1 ? "1 person" : n + " people";
  }

  function flashPlates(plates, kind) {
    for (const id of plates || []) {
      const el = state.plates.get(String(id));
      if (!el) continue;
      el.classList.remove("flash", "putback");
      void el.getBoundingClientRect(); // restart the animation
      el.classList.add("flash");
      if (kind === "putback") el.classList.add("putback");
      clearTimeout(el._flashTimer);
      el._flashTimer = setTimeout(() => el.classList.remove("flash", "putback"), 1700);
    }
  }

  // ---------- event feed ----------
  function feedAdd(key, li) {
    if (state.feedKeys.has(key)) return false;
    state.feedKeys.add(key);
    li.dataset.key = key;
    li.classList.add("fresh");
    const feed = $("feed");
    feed.prepend(li);
    while (feed.children.length > FEED_MAX) {
      state.feedKeys.delete(feed.lastElementChild.dataset.key);
      feed.lastElementChild.remove();
    }
    $("feed-empty").classList.add("hidden");
    $("feed-count").textContent = feed.children.length + " shown";
    return true;
  }

  function productName(upc) {
    const p = state.products.get(upc);
    return p ? p.name : upc;
  }

  function onShelfEvent(m) {
    const key = "e:" + (m.recording || "") + ":" + m.event_id;
    const items = m.items || [];
    const what = items.map(([upc, qty], i) => qty + " × " + ((m.names && m.names[i]) || productName(upc))).join(", ") || "unknown item";
    const who = m.session_id ? "session " + m.session_id + (m.account_id ? " · " + m.account_id : "") : "no shopper linked";
    const li = h("li", { class: "event " + m.kind, dataset: { eventId: m.event_id, sessionId: m.session_id || "" } },
      h("span", { class: "badge " + m.kind }, m.kind === "putback" ? "put-back" : "pick"),
      h("span", { class: "what", title: what }, what),
      h("span", { class: "when" }, confText(m.confidence)),
      h("span", { class: "who" }, who + " · plates " + (m.plates || []).join(", "),
        m.review ? h("span", { class: "badge review", style: "margin-left:6px" }, "review") : null));
    if (feedAdd(key, li)) flashPlates(m.plates, m.kind);
  }

  function onScan(m) {
    const key = "s:" + m.gate_id + ":" + m.t_s + ":" + m.code;
    const ok = !m.reason || ["ok", "accepted", "admitted"].includes(m.reason) || String(m.reason).startsWith("admitted");
    const li = h("li", { class: "scan" },
      h("span", { class: "badge " + (ok ? "ok" : "bad") }, "scan"),
      h("span", { class: "what" }, "gate " + m.gate_id + (m.reason ? ": " + m.reason : "")),
      h("span", { class: "when" }, typeof m.t_s === "number" ? m.t_s.toFixed(1) + " s" : ""),
      h("span", { class: "who mono" }, String(m.code || "").slice(0, 40)));
    feedAdd(key, li);
  }

  function confText(c) {
    return c == null ? "" : Math.round(c * 100) + "%";
  }

  // ---------- sessions ----------
  async function loadSessions() {
    let rows = [];
    try {
      rows = listOf(await call("/api/sessions"), "sessions");
    } catch (e) {
      if (e.status === 401) return;
    }
    for (const r of rows) mergeSession(r);
    drawSessions();
  }

  function mergeSession(r) {
    if (!r || !r.session_id) return;
    const cur = state.sessions.get(r.session_id) || { session_id: r.session_id, seen: Date.now() };
    for (const k of ["account_id", "status", "members", "kind", "subtotal_cents"]) if (r[k] != null) cur[k] = r[k];
    const cart = r.cart || r.lines;
    if (Array.isArray(cart)) cur.items = cart.reduce((a, l) => a + (l.quantity || 0), 0);
    else if (r.items != null) cur.items = r.items;
    state.sessions.set(r.session_id, cur);
  }

  function onSession(m) { mergeSession(m); drawSessions(); }
  function onCart(m) { mergeSession({ ...m, status: undefined }); drawSessions(); }
  function onReceipt(m) {
    mergeSession({ session_id: m.session_id, account_id: m.account_id, status: "closed", subtotal_cents: m.subtotal_cents, lines: m.lines });
    drawSessions();
  }

  const STATUS_ORDER = { open: 0, exited: 1, closed: 2, deleted: 3 };
  function drawSessions() {
    const rows = [...state.sessions.values()].sort((a, b) =>
      (STATUS_ORDER[a.status] ?? 1) - (STATUS_ORDER[b.status] ?? 1) || b.seen - a.seen);
    let closed = 0;
    const body = $("sessions").tBodies[0];
    body.replaceChildren();
    for (const r of rows) {
      if (r.status === "closed" || r.status === "deleted") {
        if (++closed > CLOSED_SHOWN) continue;
      }
      const members = r.members > 1 ? " +" + (r.members - 1) : "";
      body.append(h("tr", { "data-session": r.session_id, class: r.status === "closed" || r.status === "deleted" ? "muted" : "" },
        h("td", { class: "mono" }, r.session_id),
        h("td", {}, (r.account_id || "–") + members, r.kind === "staff" ? h("span", { class: "badge staff", style: "margin-left:4px" }, "staff") : null),
        h("td", {}, h("span", { class: "badge " + (r.status || "") }, r.status || "?")),
        h("td", { class: "num" }, r.items ?? 0),
        h("td", { class: "num" }, money(r.subtotal_cents || 0))));
    }
    const open = rows.filter((r) => r.status === "open").length;
    $("sessions-count").textContent = open + " open";
  }

  // ---------- inventory ----------
  async function loadProducts() {
    try {
      for (const p of listOf(await call("/api/products"), "products")) state.products.set(p.upc, p);
    } catch (e) { /* names fall back to UPCs */ }
    const dl = h("datalist", { id: "upc-list" });
    for (const p of state.products.values()) dl.append(h("option", { value: p.upc }, p.name));
    document.body.append(dl);
  }

  /* Stock per product (the table) and per plate (what `stock` messages update). */
  async function loadInventory() {
    let inv;
    try {
      inv = await call("/api/inventory");
    } catch (e) {
      return;
    }
    state.inventory.clear();
    state.plateUnits.clear();
    const low = new Set(inv.low || []);
    for (const p of inv.products || []) {
      state.inventory.set(p.upc, {
        upc: p.upc, name: p.name || productName(p.upc), units: p.units ?? 0, plates: new Set(p.plates || []),
        threshold: p.threshold ?? null, low: !!p.low || low.has(p.upc),
      });
    }
    for (const r of inv.plates || []) {
      state.plateUnits.set(r.plate_id + "|" + r.upc, r.units ?? 0);
      productRow(r.upc).plates.add(r.plate_id);
    }
    drawInventory();
  }

  function productRow(upc) {
    let row = state.inventory.get(upc);
    if (!row) {
      row = { upc, name: productName(upc), units: 0, plates: new Set(), threshold: null, low: false };
      state.inventory.set(upc, row);
    }
    return row;
  }

  function onStock(m) {
    const key = String(m.plate_id) + "|" + m.upc;
    const before = state.plateUnits.get(key) ?? 0;
    state.plateUnits.set(key, m.count);
    const row = productRow(m.upc);
    row.plates.add(String(m.plate_id));
    row.units += m.count - before;
    row.low = !!m.low || (row.threshold != null && row.units <= row.threshold);
    row.changed = Date.now();
    drawInventory();
  }

  function drawInventory() {
    const q = $("inventory-filter").value.trim().toLowerCase();
    const lowOnly = $("inventory-low").checked;
    const rows = [...state.inventory.values()].sort((a, b) => (b.low - a.low) || a.name.localeCompare(b.name));
    const body = $("inventory").tBodies[0];
    body.replaceChildren();
    const now = Date.now();
    for (const r of rows) {
      const plates = [...r.plates].sort().join(", ");
      if (lowOnly && !r.low) continue;
      if (q && !(r.name.toLowerCase().includes(q) || plates.includes(q) || r.upc.includes(q))) continue;
      const cls = (r.low ? "low" : "") + (r.changed && now - r.changed < 1200 ? " changed" : "");
      body.append(h("tr", { class: cls.trim(), "data-upc": r.upc },
        h("td", { title: r.upc + (r.threshold != null ? " · low at " + r.threshold : "") },
          h("div", { class: "name" }, r.name), plates ? h("div", { class: "plates mono" }, plates) : null),
        h("td", { class: "num count" }, r.units, r.low ? h("div", { class: "badge bad" }, "low") : null)));
    }
    const low = rows.filter((r) => r.low).length;
    $("inventory-count").textContent = rows.length + " products" + (low ? " · " + low + " low" : "");
  }
  $("inventory-filter").addEventListener("input", drawInventory);
  $("inventory-low").addEventListener("change", drawInventory);

  // ---------- review queue ----------
  async function loadReview() {
    let rows;
    try {
      rows = listOf(await call("/api/review?status=open"), "review");
    } catch (e) {
      return;
    }
    state.reviews.clear();
    for (const r of rows) state.reviews.set(String(r.review_id), r);
    drawReview();
  }

  function onReview(m) {
    if (m.review_id == null) return;
    const id = String(m.review_id);
    if (!state.reviews.has(id)) {
      state.reviews.set(id, m);
      drawReview();
    }
  }

  function evidenceText(ev) {
    if (!ev || typeof ev !== "object") return "";
    const parts = [];
    for (const [k, v] of Object.entries(ev)) {
      if (k === "trace" || k === "weight_trace" || (Array.isArray(v) && v.length > 8)) continue;
      const text = Array.isArray(v) ? v.map((x) => (typeof x === "object" ? JSON.stringify(x) : x)).join(", ")
        : typeof v === "object" && v !== null ? JSON.stringify(v)
        : typeof v === "number" && !Number.isInteger(v) ? v.toFixed(2) : v;
      parts.push(k + ": " + text);
      if (parts.length >= 6) break;
    }
    return parts.join(" · ");
  }

  function drawReview() {
    const box = $("review");
    box.replaceChildren();
    for (const r of state.reviews.values()) box.append(reviewCard(r));
    const n = state.reviews.size;
    $("review-count").textContent = n ? n + " open" : "";
    $("review-empty").classList.toggle("hidden", n > 0);
  }

  function reviewCard(r) {
    const id = String(r.review_id);
    const card = h("div", { class: "review-item", "data-review": id },
      h("div", { class: "row" },
        h("b", {}, "#" + id),
        h("span", { class: "badge review" }, (r.kind === "dispute" ? "dispute: " : "") + (r.reason || "review")),
        h("span", { class: "muted" }, confText(r.confidence)),
        r.session_id ? h("span", { class: "mono" }, r.session_id) : h("span", { class: "muted" }, "no session")),
      h("div", { class: "evidence" }, evidenceText(r.evidence)));
    const approve = h("button", { class: "primary", type: "button", "data-action": "approve" },
      r.kind === "dispute" ? "Refund" : "Approve");
    approve.addEventListener("click", () => decide(id, { action: "approve" }, card));
    let other;
    if (r.kind === "dispute") {
      other = h("button", { type: "button", class: "danger", "data-action": "reject" }, "Reject");
      other.addEventListener("click", () => decide(id, { action: "reject" }, card));
    } else {
      other = h("button", { type: "button", "data-action": "correct" }, "Correct…");
      other.addEventListener("click", () => toggleCorrect(r, card));
    }
    card.append(h("div", { class: "actions" }, approve, other));
    return card;
  }

  function toggleCorrect(r, card) {
    const open = card.querySelector("form");
    if (open) return open.remove();
    const ev = r.evidence || {};
    const guess = Array.isArray(ev.items) && ev.items.length ? ev.items[0] : null;
    const upc = h("input", { name: "upc", placeholder: "UPC", list: "upc-list", value: guess ? guess[0] ?? guess.upc : "", "aria-label": "UPC", required: true });
    const qty = h("input", { name: "quantity", type: "number", min: "1", step: "1", value: guess ? Math.abs(guess[1] ?? guess.quantity) || 1 : 1, "aria-label": "Units that really moved", required: true });
    const sid = h("input", { name: "session_id", placeholder: "session (who)", value: r.session_id || "", "aria-label": "Session" });
    const form = h("form", {}, upc, qty, h("button", { class: "primary", type: "submit" }, "Save"), sid);
    form.addEventListener("submit", (ev2) => {
      ev2.preventDefault();
      const body = { action: "correct", items: [{ upc: upc.value.trim(), quantity: parseInt(qty.value, 10) }] };
      if (sid.value.trim()) body.session_id = sid.value.trim();
      decide(String(r.review_id), body, card);
    });
    card.append(form);
    upc.focus();
  }

  async function decide(id, body, card) {
    $("review-error").textContent = "";
    card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
    try {
      await call("/api/review/" + encodeURIComponent(id) + "/decision", { method: "POST", body });
      state.reviews.delete(id);
      drawReview();
    } catch (e) {
      $("review-error").textContent = "Review #" + id + ": " + e.message;
      card.querySelectorAll("button").forEach((b) => { b.disabled = false; });
    }
  }

  // ---------- sensor health ----------
  function drawHealth(m) {
    state.health = m;
    const cell = (id, list, text) => {
      const el = $(id);
      const n = Array.isArray(list) ? list.length : list;
      el.querySelector(".n").textContent = n;
      el.querySelector(".list").textContent = text;
      el.classList.toggle("bad", n > 0);
    };
    const rej = m.rejections || {};
    const rejN = Object.values(rej).reduce((a, v) => a + (Number(v) || 0), 0);
    cell("health-silent", m.plates_silent || [], (m.plates_silent || []).join(", "));
    cell("health-noisy", m.plates_noisy || [], (m.plates_noisy || []).join(", "));
    cell("health-cameras", m.cameras_down || [], (m.cameras_down || []).join(", "));
    cell("health-rejections", rejN, Object.entries(rej).map(([k, v]) => k + ": " + v).join(", "));
    const bad = (m.plates_silent || []).length + (m.cameras_down || []).length;
    const warn = (m.plates_noisy || []).length;
    const st = $("health-status");
    st.className = "badge " + (bad ? "bad" : warn ? "warn" : "ok");
    st.textContent = bad ? "attention" : warn ? "degraded" : "all good";
    markPlates(m);
  }

  function markPlates(m) {
    const silent = new Set((m.plates_silent || []).map(String));
    const noisy = new Set((m.plates_noisy || []).map(String));
    for (const [id, el] of state.plates) {
      el.classList.toggle("silent", silent.has(id));
      el.classList.toggle("noisy", noisy.has(id));
    }
  }

  // ---------- latency ----------
  function drawLatency(m) {
    state.latency = m;
    const ms = (v) => (v == null ? "–" : Math.round(v) + " ms");
    $("latency-p50").textContent = ms(m.p50_ms);
    $("latency-p99").textContent = ms(m.p99_ms);
    const svg = $("latency-chart");
    const hist = m.hist_ms || [];
    // drawn in CSS pixels of the chart's current size, so the labels keep their shape
    const W = Math.max(120, svg.clientWidth || 300);
    const H = Math.max(60, svg.clientHeight || 110);
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.replaceChildren();
    if (!hist.length) return;
    const top = Math.max(1, ...hist.map((b) => b[1]));
    const bw = W / hist.length;
    const labelEvery = Math.ceil(hist.length / Math.max(2, Math.floor(W / 45)));
    hist.forEach(([lo, count], i) => {
      const bh = ((H - 16) * count) / top;
      svg.append(s("rect", { class: "bar", x: i * bw + 1, y: H - 14 - bh, width: Math.max(1, bw - 2), height: bh, "data-lo": lo, "data-count": count },
        s("title", {}, "≥ " + lo + " ms: " + count)));
      if (i % labelEvery === 0) svg.append(s("text", { x: i * bw + 1, y: H - 3 }, lo));
    });
  }
  window.addEventListener("resize", () => { if (state.latency) drawLatency(state.latency); });

  // expose a little state for debugging in the console
  window.walkoutDashboard = { state };
  start();
})();

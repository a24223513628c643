/* walkout: helpers shared by the dashboard and the customer app (no framework, no build step).
 *
 * Walkout.api(path, {method, body, token})  -> parsed JSON (throws Walkout.ApiError on HTTP errors)
 * Walkout.live(path, token, handlers)       -> a WebSocket that reconnects when it drops
 * Walkout.h(tag, attrs, ...children)         -> a DOM element (text children are escaped)
 * Walkout.money(cents, currency)             -> "$1.29"
 */
(function () {
  "use strict";

  class ApiError extends Error {
    constructor(status, detail) {
      super(typeof detail === "string" ? detail : JSON.stringify(detail));
      this.status = status;
      this.detail = detail;
    }
  }

  function detailText(detail) {
    if (detail == null) return "";
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      // FastAPI validation errors: [{loc: [...], msg: "..."}]
      return detail.map((d) => {
        const field = Array.isArray(d.loc) ? d.loc.filter((x) => x !== "body").join(".") : "";
        return (field ? field + ": " : "") + (d.msg || JSON.stringify(d));
      }).join("; ");
    }
    return detail.message || JSON.stringify(detail);
  }

  async function api(path, opts) {
    const o = opts || {};
    const headers = { Accept: "application/json" };
    if (o.token) headers.Authorization = "Bearer " + o.token;
    const init = { method: o.method || "GET", headers };
    if (o.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(o.body);
    }
    const res = await fetch(path, init);
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = text; }
    }
    if (!res.ok) {
      const detail = data && typeof data === "object" && "detail" in data ? data.detail : data;
      throw new ApiError(res.status, detailText(detail) || res.statusText);
    }
    return data;
  }

  /* A WebSocket to `path?token=...` that reconnects with a capped backoff when it drops.
   * handlers: {message(msg), status("connecting"|"live"|"reconnecting"|"denied"), denied(code)}.
   * Returns {close(), socket()}. Codes 4401/4403 (bad token, wrong role) stop the reconnects. */
  function live(path, token, handlers) {
    const on = handlers || {};
    let ws = null;
    let stopped = false;
    let attempt = 0;
    let timer = null;
    const status = (s) => on.status && on.status(s);

    function open() {
      if (stopped) return;
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      ws = new WebSocket(proto + "//" + location.host + path + "?token=" + encodeURIComponent(token));
      status(attempt === 0 ? "connecting" : "reconnecting");
      ws.onopen = () => { attempt = 0; status("live"); };
      ws.onmessage = (ev) => {
        let msg;
        try { msg = JSON.parse(ev.data); } catch (e) { return; }
        try { on.message && on.message(msg); } catch (e) { console.error("walkout: message handler", e, msg); }
      };
      ws.onclose = (ev) => {
        ws = null;
        if (stopped) return;
        if (ev.code === 4401 || ev.code === 4403) {
          stopped = true;
          status("denied");
          on.denied && on.denied(ev.code);
          return;
        }
        attempt += 1;
        status("reconnecting");
        const delay = Math.min(5000, 250 * 2 ** Math.min(attempt, 5));
        timer = setTimeout(open, delay);
      };
    }
    open();
    return {
      close() { stopped = true; clearTimeout(timer); if (ws) ws.close(1000); },
      socket() { return ws; },
    };
  }

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children) {
      if (c == null || c === false) continue;
      if (Array.isArray(c)) append(el, c);
      else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.setAttribute("class", v);
      else el.setAttribute(k, String(v));
    }
    append(el, children);
    return el;
  }

  function money(cents, currency) {
    const c = Number(cents) || 0;
    try {
      return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "USD" }).format(c / 100);
    } catch (e) {
      return (c / 100).toFixed(2) + " " + (currency || "");
    }
  }

  function clock(unixS) {
    const d = unixS ? new Date(unixS * 1000) : new Date();
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  function duration(seconds) {
    const s = Math.max(0, Math.round(Number(seconds) || 0));
    const m = Math.floor(s / 60);
    return m ? m + " min " + (s % 60) + " s" : s + " s";
  }

  /* Items of a list response: the API may answer a bare list or {items|<key>: [...]}. */
  function listOf(data, key) {
    if (Array.isArray(data)) return data;
    if (data && Array.isArray(data[key])) return data[key];
    if (data && Array.isArray(data.items)) return data.items;
    return [];
  }

  function store(key) {
    return {
      get() { try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; } },
      set(v) { localStorage.setItem(key, JSON.stringify(v)); },
      clear() { localStorage.removeItem(key); },
    };
  }

  window.Walkout = { api, ApiError, live, h, s, money, clock, duration, listOf, store };
})();

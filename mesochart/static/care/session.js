// Charting screen: every change the workspace makes goes through ONE queue, in order, so a
// click is never dropped and never overtakes the settings change made before it.
//
// - Map clicks (facemap:add) are shown at once as pending points and queued; clicks made
//   while a request is in flight are sent together in the next request (the server takes
//   a batch of points). Moves and deletes (facemap:move, facemap:delete) are queued too.
// - Forms marked data-ws (brush, zone entry, edits, mixtures, packs, overrides, sign-off)
//   are sent through the queue on submit (or on change with data-ws-trigger="change").
// - Every answer, refusal or not, is the whole workspace: it replaces the old one, so the
//   screen shows what the server holds, with a refusal beside the field it names. Open
//   panels, typed-but-unsent values, the field being typed in and the point selection are
//   carried over the refresh.
// - A refused settings change holds the clicks queued after it (they would be charted with
//   settings the clinician did not mean): they are shown and wait for a decision.
// - No answer (network): the queue waits and retries; nothing is lost. Signed out on the
//   server: pending clicks are kept in sessionStorage and offered again after signing in.
// The server resolves zones, checks the chart and decides what may be signed.
(function () {
  "use strict";
  var NIL = "00000000-0000-0000-0000-000000000000";
  var STASH_PREFIX = "mesochart:pending-points:";
  var queue = [];
  var inflight = null;
  var held = false; // after a refused settings change, until the clinician decides
  var failed = false; // after a server failure, until retried or discarded
  var retryTimer = null;
  var retryDelay = 1000;
  var selected = new Set();
  // True while the old workspace is being replaced: removing a focused field makes the
  // browser fire "change" on it, which must not send a half-typed value.
  var swapping = false;
  var lastSent = {}; // brush field name -> value sent in the last queued brush change

  function ws() { return document.getElementById("workspace"); }
  function msg(name) {
    var el = ws();
    return (el && el.getAttribute("data-msg-" + name)) || "";
  }
  function csrfToken() {
    var field = document.querySelector("#workspace input[name=csrfmiddlewaretoken]");
    if (field) { return field.value; }
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) { return ""; }
  }

  // --- the queue ----------------------------------------------------------------------

  function enqueuePoint(point) {
    var el = ws();
    if (!el) { return; }
    var last = queue[queue.length - 1];
    if (last && last !== inflight && last.kind === "points") {
      last.points.push(point);
    } else {
      queue.push({ kind: "points", url: el.dataset.addUrl, points: [point] });
    }
    drawPending();
    flush();
  }

  function enqueueForm(form, submitter) {
    var body = new FormData(form);
    if (submitter && submitter.name) { body.append(submitter.name, submitter.value); }
    var area = form.getAttribute("data-ws") || "";
    // A second press of "Sign session" while the first is waiting adds nothing.
    if (area === "signoff" && queue.some(function (q) { return q.area === "signoff"; })) { return; }
    var item = { kind: "form", url: form.action, body: body, area: area, formKey: keyOf(form) };
    if (area === "brush") {
      body.forEach(function (value, name) { lastSent[name] = String(value); });
      // The whole brush card is posted each time: a newer change replaces an unsent one.
      for (var i = 0; i < queue.length; i++) {
        if (queue[i] !== inflight && queue[i].area === "brush") { queue[i] = item; flush(); return; }
      }
    }
    queue.push(item);
    flush();
  }

  function enqueuePost(url, values, area) {
    var body = new FormData();
    Object.keys(values).forEach(function (k) { body.append(k, values[k]); });
    queue.push({ kind: "form", url: url, body: body, area: area || "map" });
    flush();
  }

  function bodyOf(item) {
    if (item.kind !== "points") { return item.body; }
    var body = new FormData();
    item.points.forEach(function (p) {
      body.append("view", p.view);
      body.append("x", p.x);
      body.append("y", p.y);
    });
    return body;
  }

  function flush() {
    if (inflight || held || failed || !queue.length) { showPendingNote(); return; }
    inflight = queue[0];
    showPendingNote();
    var item = inflight;
    fetch(item.url, {
      method: "POST",
      body: bodyOf(item),
      credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRFToken": csrfToken(), "HX-Current-URL": location.href },
    }).then(function (response) {
      var redirect = response.headers.get("HX-Redirect");
      if (redirect) {
        if (/\/accounts\/login\//.test(redirect)) { stashPending(); queue = []; }
        else { queue.shift(); }
        inflight = null;
        location.href = redirect;
        return null;
      }
      var type = response.headers.get("Content-Type") || "";
      return response.text().then(function (text) {
        var fresh = type.indexOf("text/html") === 0 ? parseWorkspace(text) : null;
        if (!fresh) { serverFailed(item, response.status, text); return; }
        queue.shift();
        inflight = null;
        retryDelay = 1000;
        var refused = response.status >= 400;
        swap(fresh, { refused: refused, formKey: item.formKey });
        if (refused && item.area === "brush" && queue.some(function (q) { return q.kind === "points"; })) {
          held = true;
          drawPending();
          showHold();
        }
        document.dispatchEvent(new CustomEvent("mesochart:activity"));
        flush();
      });
    }).catch(function () {
      inflight = null;
      offline();
    });
  }

  function parseWorkspace(text) {
    var tpl = document.createElement("template");
    tpl.innerHTML = text.trim();
    return tpl.content.querySelector("#workspace");
  }

  function offline() {
    var note = statusBox();
    if (!note) { return; }
    note.innerHTML = "";
    var p = alertLine(msg("offline"));
    p.appendChild(button(msg("retry"), function () { clearTimeout(retryTimer); flush(); }));
    note.appendChild(p);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 15000);
  }

  function serverFailed(item, status, text) {
    inflight = null;
    failed = true;
    var detail = "";
    var tpl = document.createElement("template");
    tpl.innerHTML = text;
    var main = tpl.content.querySelector("[data-error-message]") || tpl.content.querySelector("main h1, h1");
    if (main) { detail = main.textContent.trim(); }
    var note = statusBox();
    if (!note) { return; }
    note.innerHTML = "";
    var p = alertLine(msg("failed") + " (HTTP " + status + (detail ? ": " + detail : "") + ")");
    p.id = "ws-failure";
    p.appendChild(button(msg("retry"), function () { failed = false; flush(); }));
    p.appendChild(button(msg("discard"), function () { failed = false; queue.shift(); drawPending(); flush(); }));
    note.appendChild(p);
    note.scrollIntoView({ block: "nearest" });
  }

  function showHold() {
    var note = statusBox();
    if (!note) { return; }
    var count = pendingPoints().length;
    var p = alertLine(count === 1 ? msg("held-one") : msg("held-many").replace("%(n)s", String(count)));
    p.id = "held-clicks";
    p.appendChild(button(msg("chart-them"), function () { held = false; p.remove(); drawPending(); flush(); }));
    p.appendChild(button(msg("discard"), function () {
      held = false;
      queue = queue.filter(function (q) { return q.kind !== "points"; });
      p.remove();
      drawPending();
      flush();
    }));
    note.appendChild(p);
  }

  // --- swapping the workspace, keeping what the clinician was doing ------------------------

  function keyOf(form) {
    var code = form.querySelector("input[name=code]");
    var wheres = Array.prototype.map.call(form.querySelectorAll("input[name=where]"), function (w) { return w.value; });
    return (form.getAttribute("action") || "") + "|" + (code ? code.value : "") + "|" + wheres.join(",");
  }

  function fieldKey(el) {
    return (el.form ? keyOf(el.form) : "") + "|" + (el.name || el.id);
  }

  function capture(root) {
    var state = { open: [], kept: {}, focus: null };
    root.querySelectorAll("details[data-keep-open][open]").forEach(function (d) { state.open.push(d.id); });
    root.querySelectorAll("form[data-keep] input, form[data-keep] select, form[data-keep] textarea").forEach(function (el) {
      if (el.type === "hidden" || el.name === "csrfmiddlewaretoken") { return; }
      state.kept[fieldKey(el)] = el.type === "checkbox" ? el.checked : el.value;
    });
    var active = document.activeElement;
    if (active && root.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
      state.focus = {
        key: fieldKey(active),
        id: active.id,
        value: active.value,
        dirty: active.value !== active.defaultValue && active.value !== lastSent[active.name],
        start: active.selectionStart,
        end: active.selectionEnd,
      };
    }
    return state;
  }

  function restore(root, state, opts) {
    state.open.forEach(function (id) {
      var d = root.querySelector("#" + CSS.escape(id));
      if (d) { d.open = true; }
    });
    root.querySelectorAll("form[data-keep] input, form[data-keep] select, form[data-keep] textarea").forEach(function (el) {
      var key = fieldKey(el);
      if (!(key in state.kept)) { return; }
      if (!opts.refused && opts.formKey && el.form && keyOf(el.form) === opts.formKey) { return; }
      if (el.type === "checkbox") { el.checked = state.kept[key]; } else { el.value = state.kept[key]; }
    });
    var f = state.focus;
    if (f) {
      var target = (f.id && root.querySelector("#" + CSS.escape(f.id))) || null;
      if (!target) {
        root.querySelectorAll("input, select, textarea").forEach(function (el) {
          if (!target && fieldKey(el) === f.key) { target = el; }
        });
      }
      if (target) {
        target.focus({ preventScroll: true });
        if (f.dirty) {
          target.value = f.value;
          // A value put back by script raises no "change" of its own: send it on leaving.
          target.addEventListener("blur", function () {
            if (!swapping && target.isConnected && target.value !== target.defaultValue) {
              target.dispatchEvent(new Event("change", { bubbles: true }));
            }
          }, { once: true });
        }
        try {
          if (f.start !== null && target.setSelectionRange) { target.setSelectionRange(f.start, f.end); }
        } catch (e) { /* not a text field */ }
      }
    }
  }

  function swap(fresh, opts) {
    var old = ws();
    if (!old) { return; }
    var state = capture(old);
    swapping = true;
    try {
      old.replaceWith(fresh);
    } finally {
      swapping = false;
    }
    restore(fresh, state, opts);
    if (window.Facemap) { window.Facemap.init(fresh); }
    applySelection();
    drawPending();
    showPendingNote();
    if (opts.refused) {
      var area = fresh.getAttribute("data-error-area");
      var alert = fresh.querySelector("[role=alert]");
      var box = area ? fresh.querySelector(areaSelector(area)) : null;
      var shown = (box && box.querySelector("[role=alert]")) || alert;
      if (shown && !inView(shown)) { shown.scrollIntoView({ block: "center" }); }
    }
  }

  function areaSelector(area) {
    return {
      brush: "#brush", map: "#map-status", "zone-entry": "#zone-entry", edit: "#edit-panel",
      mixture: "#mixture", packs: "#packs", supplies: "#entries", findings: "#findings",
      signoff: "#signoff",
    }[area] || "#workspace";
  }

  function inView(el) {
    var r = el.getBoundingClientRect();
    return r.bottom > 0 && r.top < window.innerHeight;
  }

  // --- pending points ---------------------------------------------------------------------

  function pendingPoints() {
    var out = [];
    queue.forEach(function (item) { if (item.kind === "points") { out = out.concat(item.points); } });
    return out;
  }

  function drawPending() {
    document.querySelectorAll("svg.facemap .pending-layer").forEach(function (g) { g.remove(); });
    pendingPoints().forEach(function (p) {
      var svg = document.querySelector('#workspace svg.facemap[data-view="' + CSS.escape(p.view) + '"]');
      if (!svg) { return; }
      var layer = svg.querySelector(".pending-layer");
      if (!layer) {
        layer = document.createElementNS("http://www.w3.org/2000/svg", "g");
        layer.setAttribute("class", "pending-layer");
        svg.appendChild(layer);
      }
      var box = svg.viewBox.baseVal;
      var c = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      c.setAttribute("class", "pt-pending" + (held ? " is-held" : ""));
      c.setAttribute("cx", (box.x + p.x * box.width).toFixed(2));
      c.setAttribute("cy", (box.y + p.y * box.height).toFixed(2));
      c.setAttribute("r", (box.width * 0.008).toFixed(2));
      layer.appendChild(c);
    });
  }

  function statusBox() {
    var el = ws();
    return el ? el.querySelector("#map-status") : null;
  }

  function showPendingNote() {
    var note = document.querySelector("#map-status .pending-note");
    if (!note) { return; }
    var n = pendingPoints().length;
    var others = queue.filter(function (q) { return q.kind !== "points"; }).length;
    if (!n && !others) { note.hidden = true; note.textContent = ""; return; }
    note.hidden = false;
    note.textContent = (inflight ? msg("saving") + " " : "") + (n ? n + " " + msg("pending") : "");
    note.setAttribute("data-pending", String(n + others));
  }

  function alertLine(text) {
    var p = document.createElement("p");
    p.className = "alert error";
    p.setAttribute("role", "alert");
    p.textContent = text + " ";
    return p;
  }

  function button(text, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "secondary small";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
  }

  // --- signed out: keep the clicks, offer them again after signing in ------------------------

  function stashPending() {
    var el = ws();
    var points = pendingPoints();
    if (!el || !points.length) { return; }
    try {
      sessionStorage.setItem(STASH_PREFIX + el.dataset.session, JSON.stringify({
        user: document.body.getAttribute("data-user") || "",
        points: points,
      }));
    } catch (e) { /* storage full or disabled: nothing more to do */ }
  }

  function offerStash() {
    var el = ws();
    if (!el || !el.dataset.addUrl) { return; }
    var key = STASH_PREFIX + el.dataset.session;
    var raw = null;
    try { raw = sessionStorage.getItem(key); } catch (e) { return; }
    if (!raw) { return; }
    var data;
    try { data = JSON.parse(raw); } catch (e) { sessionStorage.removeItem(key); return; }
    if ((data.user || "") !== (document.body.getAttribute("data-user") || "") || !data.points || !data.points.length) {
      sessionStorage.removeItem(key);
      return;
    }
    var note = statusBox();
    if (!note || !el.querySelector("svg.facemap[data-interactive]")) { sessionStorage.removeItem(key); return; }
    var p = alertLine(msg("restored") + " " + data.points.length);
    p.id = "restored-clicks";
    p.appendChild(button(msg("chart-them"), function () {
      sessionStorage.removeItem(key);
      p.remove();
      data.points.forEach(enqueuePoint);
    }));
    p.appendChild(button(msg("discard"), function () { sessionStorage.removeItem(key); p.remove(); }));
    note.appendChild(p);
  }

  // --- selection for editing many points at once ----------------------------------------------

  function applySelection() {
    var el = ws();
    if (!el) { return; }
    var present = new Set();
    el.querySelectorAll("[data-entry-select]").forEach(function (box) {
      present.add(box.value);
      box.checked = selected.has(box.value);
    });
    selected.forEach(function (id) { if (!present.has(id)) { selected.delete(id); } });
    el.querySelectorAll("svg.facemap .pt[data-point-id]").forEach(function (c) {
      c.classList.toggle("is-chosen", selected.has(c.getAttribute("data-point-id")));
    });
    el.querySelectorAll("[data-selection-count]").forEach(function (s) {
      s.textContent = selected.size + " " + msg("selected");
    });
  }

  function openEditPanel() {
    var panel = document.getElementById("edit-panel");
    if (panel && !panel.open) { panel.open = true; }
    if (panel && !inView(panel)) { panel.scrollIntoView({ block: "nearest" }); }
  }

  // --- events -------------------------------------------------------------------------------

  document.addEventListener("facemap:add", function (event) {
    var d = event.detail;
    enqueuePoint({ view: d.view, x: d.x, y: d.y });
  });

  document.addEventListener("facemap:move", function (event) {
    var el = ws();
    if (!el) { return; }
    var d = event.detail;
    enqueuePost(el.dataset.moveUrl.replace(NIL, d.pointId), { view: d.view, x: d.x, y: d.y }, "map");
  });

  document.addEventListener("facemap:delete", function (event) {
    var el = ws();
    if (!el) { return; }
    selected.delete(event.detail.pointId);
    enqueuePost(el.dataset.deleteUrl.replace(NIL, event.detail.pointId), {}, "map");
  });

  document.addEventListener("facemap:select", function (event) {
    var id = event.detail.pointId;
    var box = document.querySelector('[data-entry-select][value="' + CSS.escape(id) + '"]');
    if (!box || box.disabled) { return; }
    if (selected.has(id)) { selected.delete(id); } else { selected.add(id); }
    applySelection();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.closest("#workspace") || !form.hasAttribute("data-ws")) { return; }
    event.preventDefault();
    enqueueForm(form, event.submitter);
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (swapping || !target.isConnected) { return; }
    if (target.matches && target.matches("[data-entry-select]")) {
      if (target.checked) { selected.add(target.value); } else { selected.delete(target.value); }
      applySelection();
      return;
    }
    var form = target.form;
    if (!form || !form.closest("#workspace") || form.getAttribute("data-ws-trigger") !== "change") { return; }
    enqueueForm(form, null);
  });

  document.addEventListener("click", function (event) {
    var chooser = event.target.closest && event.target.closest("[data-select-entries]");
    if (chooser) {
      selected = new Set(chooser.getAttribute("data-select-entries").split(" ").filter(Boolean));
      applySelection();
      openEditPanel();
      return;
    }
    if (event.target.closest && event.target.closest("[data-clear-selection]")) {
      selected.clear();
      applySelection();
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (queue.length) {
      event.preventDefault();
      event.returnValue = msg("leave");
      return msg("leave");
    }
    return undefined;
  });

  function start() {
    applySelection();
    offerStash();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }

  window.MesochartCharting = {
    pending: function () { return queue.length; },
    selected: function () { return Array.from(selected); },
  };
})();

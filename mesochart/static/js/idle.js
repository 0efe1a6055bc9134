/* Idle sign-out: a warning before it happens, and typed work kept across it.
 *
 * Loaded with `defer` by base.html for signed-in users only. It reads
 *   <body data-idle-seconds="900" data-user="<user id>">   the server's idle timeout
 *                                                          (SESSION_IDLE_TIMEOUT_MINUTES)
 *                                                          and who is signed in;
 *   accounts/_idle.html                                    the dialog, the notice (their
 *                                                          texts are translated there),
 *                                                          the endpoint URLs, and the
 *                                                          fields the server kept
 *                                                          (<script id="idle-kept">).
 *
 * The timer restarts when the page loads and after every request the page makes:
 *   - htmx requests (`htmx:afterRequest`);
 *   - the `mesochart:activity` event: a script that talks to the server in any other
 *     way (fetch(), e.g. the charting screen) dispatches it on `document` after each
 *     request that reached the server:
 *         document.dispatchEvent(new CustomEvent("mesochart:activity"));
 *
 * A minute before the end (half the timeout if that is shorter) it asks the server how
 * much time is really left (GET accounts:idle_remaining, which does not count as
 * activity: another tab may have been busy). If time remains it waits again; else it
 * shows the dialog (role="alertdialog", focus on its button) with a live countdown.
 * "Stay signed in" POSTs its form, accounts:idle_keepalive, which counts as activity
 * (with fetch(), so the page and what it holds stay as they are). When the
 * countdown ends, every field whose value differs from its default is saved in
 * sessionStorage ("mesochart:typed:<page path>", with the user id) and the page is
 * loaded again: the server signs out and sends to the sign-in page, which returns here.
 * On a page that answered a POST (a form shown again with its errors, data-idle-posted)
 * the values the server put back are the user's too: every filled field is saved.
 *
 * On load, values saved for this page by the same user (never another user's, never
 * older than an hour), and fields the server kept from a POST that arrived too late,
 * are put back into their forms and a notice says so. Passwords, hidden fields and
 * file inputs are never saved or restored. No events are fired on restored fields, so
 * nothing is sent to the server until the user saves.
 */
(function () {
  "use strict";

  const body = document.body;
  const user = body.dataset.user;
  const idleSeconds = Number(body.dataset.idleSeconds);
  const dialog = document.getElementById("idle-warning");
  if (!user || !(idleSeconds > 0) || !dialog) return;

  const stayButton = dialog.querySelector("[data-idle-stay]");
  const stayForm = stayButton.form;
  const countdown = dialog.querySelector("[data-idle-countdown]");
  const notice = document.getElementById("idle-restored");
  const STASH_PREFIX = "mesochart:typed:";
  const STASH_MAX_AGE_MS = 60 * 60 * 1000;
  const NEVER_SAVED = new Set(["password", "hidden", "file", "submit", "button", "reset", "image"]);
  const pagePosted = "idlePosted" in dialog.dataset;
  const LEAD_MS = Math.min(60, idleSeconds / 2) * 1000;
  // Reload a moment after the end, so that the server surely finds the session idle.
  const GRACE_MS = 1500;

  let deadline = 0;
  let generation = 0; // bumped on each activity: late answers to older checks are ignored
  let timer = null;
  let ticker = null;
  let returnFocus = null;
  let leaving = false;

  // --- timer ---------------------------------------------------------------------------

  function restart() {
    generation += 1;
    deadline = Date.now() + idleSeconds * 1000;
    hide();
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(check, Math.max(0, deadline - LEAD_MS - Date.now()));
  }

  async function check() {
    const asked = generation;
    let remaining = (deadline - Date.now()) / 1000;
    try {
      const response = await fetch(dialog.dataset.remainingUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
      });
      if (response.ok) remaining = Number((await response.json()).remaining_seconds);
    } catch (error) {
      // Offline: trust the local timer.
    }
    if (asked !== generation || leaving) return;
    deadline = Date.now() + remaining * 1000;
    if (remaining * 1000 > LEAD_MS + 1000) schedule();
    else show();
  }

  async function stay() {
    stayButton.disabled = true;
    try {
      const response = await fetch(stayForm.action, {
        method: "POST",
        headers: {
          Accept: "application/json",
          "X-CSRFToken": stayForm.elements.csrfmiddlewaretoken.value,
        },
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
      });
      if (!response.ok) {
        signOut(); // the server has signed out already (or refused): keep the work
        return;
      }
      const remaining = Number((await response.json()).remaining_seconds);
      generation += 1; // an answer to an older check no longer applies
      deadline = Date.now() + remaining * 1000;
      hide();
      schedule();
    } catch (error) {
      // Offline: the countdown goes on; try again.
    } finally {
      stayButton.disabled = false;
    }
  }

  function signOut() {
    if (leaving) return;
    leaving = true;
    clearTimeout(timer);
    clearInterval(ticker);
    stash();
    location.replace(location.pathname + location.search);
  }

  // --- dialog ----------------------------------------------------------------------------

  function show() {
    if (dialog.hidden) {
      returnFocus = document.activeElement;
      dialog.hidden = false;
      stayButton.focus();
      clearInterval(ticker);
      ticker = setInterval(tick, 1000);
    }
    tick();
  }

  function hide() {
    clearInterval(ticker);
    if (dialog.hidden) return;
    dialog.hidden = true;
    if (returnFocus && document.contains(returnFocus)) returnFocus.focus();
    returnFocus = null;
  }

  function tick() {
    const left = deadline - Date.now();
    const seconds = Math.max(0, Math.ceil(left / 1000));
    countdown.textContent = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0");
    if (left <= -GRACE_MS) signOut();
  }

  stayForm.addEventListener("submit", function (event) {
    event.preventDefault();
    stay();
  });
  dialog.addEventListener("keydown", function (event) {
    if (event.key === "Tab") {
      event.preventDefault(); // the one control of a modal dialog keeps the focus
      stayButton.focus();
    } else if (event.key === "Escape") {
      event.preventDefault();
      stay();
    }
  });

  // --- fields ----------------------------------------------------------------------------

  function saveable(el) {
    if (!el.name || el.disabled || el.name === "csrfmiddlewaretoken") return false;
    if (isConcurrency(el)) return true;
    return !(el.tagName === "INPUT" && NEVER_SAVED.has(el.type));
  }

  // A hidden field marked data-concurrency (e.g. the medical profile's version) travels
  // with the typed fields of its form, so that a form put back after signing in is still
  // checked against what others saved meanwhile (409, nothing overwritten).
  function isConcurrency(el) {
    return el.tagName === "INPUT" && el.type === "hidden" && el.hasAttribute("data-concurrency");
  }

  function isCheck(el) {
    return el.type === "checkbox" || el.type === "radio";
  }

  function defaultSelection(select) {
    const chosen = Array.from(select.options, (option) => option.defaultSelected);
    if (!select.multiple && select.size <= 1 && !chosen.includes(true) && chosen.length) {
      chosen[0] = true; // what the browser shows when no option says `selected`
    }
    return chosen;
  }

  function changed(el) {
    if (isCheck(el)) return el.checked !== el.defaultChecked;
    if (el.tagName === "SELECT") {
      const chosen = defaultSelection(el);
      return Array.from(el.options).some((option, i) => option.selected !== chosen[i]);
    }
    return el.value !== el.defaultValue;
  }

  function worthSaving(el) {
    if (changed(el)) return true;
    if (!pagePosted) return false;
    return isCheck(el) ? el.checked : el.tagName === "SELECT" || el.value !== "";
  }

  function valueOf(el) {
    if (isCheck(el)) return el.checked;
    if (el.tagName === "SELECT") {
      return Array.from(el.selectedOptions, (option) => option.value);
    }
    return el.value;
  }

  function put(el, value) {
    if (isCheck(el)) {
      el.checked = Boolean(value);
    } else if (el.tagName === "SELECT") {
      const wanted = new Set(Array.isArray(value) ? value : [value]);
      for (const option of el.options) option.selected = wanted.has(option.value);
    } else {
      el.value = String(value);
    }
  }

  function path(url) {
    return new URL(url, location.href).pathname;
  }

  // Every field of the page, grouped by form: a form is known by its action (or its id
  // when it has no action), with a counter when several forms share one; fields outside
  // any form form the group "". Within a group a field is its name and position.
  function groups() {
    const byForm = new Map();
    const seen = new Map();
    for (const form of document.forms) {
      let key = form.getAttribute("action") || !form.id ? path(form.action) : "#" + form.id;
      const count = seen.get(key) || 0;
      seen.set(key, count + 1);
      if (count) key += "|" + count;
      byForm.set(form, key);
    }
    const result = new Map();
    for (const el of document.querySelectorAll("input, textarea, select")) {
      if (!saveable(el)) continue;
      const key = el.form ? byForm.get(el.form) : "";
      if (!result.has(key)) result.set(key, new Map());
      const names = result.get(key);
      if (!names.has(el.name)) names.set(el.name, []);
      names.get(el.name).push(el);
    }
    return result;
  }

  function stash() {
    const forms = {};
    let any = false;
    for (const [key, names] of groups()) {
      for (const [name, fields] of names) {
        fields.forEach(function (el, i) {
          if (isConcurrency(el) || !worthSaving(el)) return;
          (forms[key] = forms[key] || []).push({ n: name, i: i, v: valueOf(el) });
          any = true;
        });
      }
      if (forms[key]) {
        for (const [name, fields] of names) {
          fields.forEach(function (el, i) {
            if (isConcurrency(el)) forms[key].push({ n: name, i: i, v: valueOf(el) });
          });
        }
      }
    }
    if (!any) return;
    try {
      sessionStorage.setItem(
        STASH_PREFIX + location.pathname,
        JSON.stringify({ user: user, saved: Date.now(), forms: forms }),
      );
    } catch (error) {
      // Storage full or disabled: nothing more can be done here.
    }
  }

  function readStash(key) {
    try {
      return JSON.parse(sessionStorage.getItem(key));
    } catch (error) {
      return null;
    }
  }

  function restoreStash() {
    // Forget what other users (or this one, too long ago) left in this tab.
    for (const key of Object.keys(sessionStorage)) {
      if (!key.startsWith(STASH_PREFIX)) continue;
      const saved = readStash(key);
      if (!saved || saved.user !== user || !(Date.now() - saved.saved < STASH_MAX_AGE_MS)) {
        sessionStorage.removeItem(key);
      }
    }
    const key = STASH_PREFIX + location.pathname;
    const saved = readStash(key);
    if (!saved) return [];
    sessionStorage.removeItem(key);
    const restored = [];
    const present = groups();
    for (const [formKey, entries] of Object.entries(saved.forms || {})) {
      const names = present.get(formKey);
      if (!names) continue;
      for (const entry of entries) {
        const el = (names.get(entry.n) || [])[entry.i];
        if (!el) continue;
        put(el, entry.v);
        if (!isConcurrency(el)) restored.push(el);
      }
    }
    return restored;
  }

  function restoreKept() {
    const node = document.getElementById("idle-kept");
    if (!node) return [];
    let kept;
    try {
      kept = JSON.parse(node.textContent);
    } catch (error) {
      return [];
    }
    const form = Array.from(document.forms).find((candidate) => path(candidate.action) === kept.action);
    if (!form) return [];
    const restored = [];
    for (const [name, values] of Object.entries(kept.fields || {})) {
      const fields = Array.from(form.elements).filter((el) => el.name === name && saveable(el));
      let next = 0;
      for (const el of fields) {
        const before = JSON.stringify(valueOf(el));
        if (isCheck(el)) put(el, values.includes(el.value));
        else if (el.tagName === "SELECT" && el.multiple) put(el, values);
        else if (next < values.length) put(el, values[next++]);
        if (JSON.stringify(valueOf(el)) !== before && !isConcurrency(el)) restored.push(el);
      }
    }
    return restored;
  }

  function announce(restored) {
    if (!restored.length || !notice) return;
    const first = restored[0];
    (first.form || first).before(notice);
    notice.hidden = false;
    first.focus();
  }

  // --- start -----------------------------------------------------------------------------

  announce(restoreKept().concat(restoreStash()));

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    // An htmx request the server found idle answers HX-Redirect to the sign-in page.
    const xhr = event.detail && event.detail.xhr;
    const target = xhr && xhr.getResponseHeader("HX-Redirect");
    if (target && path(target) === path(dialog.dataset.loginUrl)) {
      leaving = true;
      stash();
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    const xhr = event.detail && event.detail.xhr;
    const source = event.detail && event.detail.elt;
    // A request the page makes by itself (the unread count) is not activity: the server
    // does not count it either.
    if (source && source.closest && source.closest("[data-not-activity]")) return;
    if (!leaving && !(xhr && xhr.status === 0)) restart(); // 0: never reached the server
  });
  document.addEventListener("mesochart:activity", function () {
    if (!leaving) restart();
  });
  document.addEventListener("visibilitychange", function () {
    // Timers of a hidden tab (or a sleeping laptop) run late: look again on return.
    if (document.visibilityState === "visible" && !leaving && dialog.hidden) schedule();
  });
  restart();
})();

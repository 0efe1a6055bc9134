// htmx on every staff page: refusals are shown, never dropped.
//
// base.html configures htmx (meta "htmx-config") to swap 400, 409 and 422 answers: the
// views answer them with the fragment and the error beside its field. Any other failure
// (403, 404, 500, or no answer at all) cannot be swapped into a fragment: this script puts
// a visible alert next to the control that sent the request, with the server's reason
// when the answer has one, and removes it on the next successful answer of that control.
(function () {
  "use strict";
  var body = document.body;

  function text(name) {
    return (body && body.getAttribute("data-htmx-" + name)) || "";
  }

  function reason(xhr) {
    if (!xhr || !xhr.responseText) { return ""; }
    var type = xhr.getResponseHeader("Content-Type") || "";
    if (type.indexOf("application/json") === 0) {
      try { return JSON.parse(xhr.responseText).error || ""; } catch (e) { return ""; }
    }
    var tpl = document.createElement("template");
    tpl.innerHTML = xhr.responseText;
    var node = tpl.content.querySelector("[data-error-message]") || tpl.content.querySelector("main h1");
    return node ? node.textContent.trim().slice(0, 300) : "";
  }

  function place(elt, message) {
    var anchor = (elt && elt.closest && elt.closest("form")) || elt;
    if (!anchor || !anchor.parentNode) { return; }
    var alert = anchor.nextElementSibling;
    if (!alert || !alert.hasAttribute("data-htmx-error")) {
      alert = document.createElement("p");
      alert.className = "alert error";
      alert.setAttribute("role", "alert");
      alert.setAttribute("data-htmx-error", "");
      anchor.parentNode.insertBefore(alert, anchor.nextSibling);
    }
    alert.textContent = message;
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var why = reason(xhr);
    place(event.detail.elt, text("refused") + " (HTTP " + xhr.status + ")" + (why ? ": " + why : ""));
  });

  document.addEventListener("htmx:sendError", function (event) {
    place(event.detail.elt, text("offline"));
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful) { return; }
    var elt = event.detail.elt;
    var anchor = (elt && elt.closest && elt.closest("form")) || elt;
    var next = anchor && anchor.nextElementSibling;
    if (next && next.hasAttribute("data-htmx-error")) { next.remove(); }
  });
})();

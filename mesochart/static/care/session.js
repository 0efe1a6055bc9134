// Charting screen: turns the face map's events (facemap.js) into htmx requests that
// return the whole workspace (map, totals, live safety findings). No other logic here:
// the server resolves zones, checks the chart and decides what may be signed.
(function () {
  "use strict";
  var NIL = "00000000-0000-0000-0000-000000000000";

  function workspace() { return document.getElementById("workspace"); }

  function post(url, values) {
    if (!window.htmx) { return; }
    window.htmx.ajax("POST", url, { target: "#workspace", swap: "outerHTML", values: values });
  }

  document.addEventListener("facemap:add", function (event) {
    var ws = workspace();
    if (!ws) { return; }
    var d = event.detail;
    post(ws.dataset.addUrl, { view: d.view, x: d.x, y: d.y });
  });

  document.addEventListener("facemap:move", function (event) {
    var ws = workspace();
    if (!ws) { return; }
    var d = event.detail;
    post(ws.dataset.moveUrl.replace(NIL, d.pointId), { view: d.view, x: d.x, y: d.y });
  });

  document.addEventListener("facemap:delete", function (event) {
    var ws = workspace();
    if (!ws) { return; }
    post(ws.dataset.deleteUrl.replace(NIL, event.detail.pointId), {});
  });
})();

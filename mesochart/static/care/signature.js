// Signature pad: draw with pointer events (mouse, pen, touch) on a <canvas>;
// on submit the drawing goes into the hidden input as a PNG data URL.
(function () {
  "use strict";
  function setup(pad) {
    var canvas = pad.querySelector("canvas");
    var form = pad.closest("form");
    var input = form.querySelector("input[name=signature]");
    var clear = pad.querySelector("[data-signature-clear]");
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var drawn = false;
    var last = null;
    ctx.lineWidth = 2.5;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#111";

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - rect.left) * (canvas.width / rect.width),
        y: (event.clientY - rect.top) * (canvas.height / rect.height),
      };
    }
    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
      ctx.beginPath();
      ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, Math.PI * 2);
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fill();
      drawn = true;
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      drawn = true;
      event.preventDefault();
    });
    function stop() {
      drawing = false;
      if (drawn) input.value = canvas.toDataURL("image/png");
    }
    canvas.addEventListener("pointerup", stop);
    canvas.addEventListener("pointercancel", stop);
    clear.addEventListener("click", function () {
      ctx.clearRect(0, 0, canvas.width, canvas.height);
      drawn = false;
      input.value = "";
    });
    // Show the pad or the scan upload, whichever the chosen method needs.
    var scanBox = form.querySelector("[data-scan]");
    var methods = form.querySelectorAll("input[name=method]");
    function showMethod() {
      var checked = form.querySelector("input[name=method]:checked");
      var paper = checked && checked.value === "paper_scan";
      pad.hidden = paper;
      if (scanBox) scanBox.hidden = !paper;
    }
    methods.forEach(function (radio) { radio.addEventListener("change", showMethod); });
    showMethod();
    form.addEventListener("submit", function () {
      if (drawn) input.value = canvas.toDataURL("image/png");
    });
  }
  document.querySelectorAll("[data-signature]").forEach(setup);
})();

// Capture guide: live camera (getUserMedia) with the baseline of the chosen view as a
// ghost overlay; "Capture" puts the frame into the form's file input, which is then
// uploaded through the ordinary upload. Without a camera the file input stays as is.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form) return;
  var start = document.getElementById("camera-start");
  var guide = document.getElementById("capture-guide");
  var video = document.getElementById("capture-video");
  var canvas = document.getElementById("capture-canvas");
  var opacity = document.getElementById("ghost-opacity");
  var shot = document.getElementById("capture-shot");
  var status = document.getElementById("capture-status");
  var viewSelect = form.querySelector("select[name=view]");
  var fileInput = form.querySelector("input[type=file][name=photo]");
  var ghosts = Array.prototype.slice.call(form.querySelectorAll(".capture-ghost"));

  function showGhost() {
    var view = viewSelect ? viewSelect.value : "";
    ghosts.forEach(function (img) {
      img.hidden = img.getAttribute("data-view") !== view;
      img.style.opacity = String(Number(opacity.value) / 100);
    });
  }
  if (viewSelect) viewSelect.addEventListener("change", showGhost);
  opacity.addEventListener("input", showGhost);

  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia) || !window.DataTransfer) {
    return; // the file input (camera app on phones) is the fallback
  }
  start.hidden = false;
  start.addEventListener("click", function () {
    navigator.mediaDevices
      .getUserMedia({ video: { facingMode: "user", width: { ideal: 1920 }, height: { ideal: 1440 } }, audio: false })
      .then(function (stream) {
        video.srcObject = stream;
        guide.hidden = false;
        start.hidden = true;
        showGhost();
      })
      .catch(function (err) {
        status.textContent = "";
        document.getElementById("camera-note").textContent =
          "The camera is not available (" + err.name + "): choose or take a photo with the file field instead.";
      });
  });
  shot.addEventListener("click", function () {
    if (!video.videoWidth) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    canvas.toBlob(function (blob) {
      var file = new File([blob], "capture.jpg", { type: "image/jpeg" });
      var dt = new DataTransfer();
      dt.items.add(file);
      fileInput.files = dt.files;
      status.textContent = "Captured " + canvas.width + "×" + canvas.height + ": press Upload, or capture again.";
    }, "image/jpeg", 0.92);
  });
})();

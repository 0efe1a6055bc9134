// Slider and ghost comparisons: one range input drives the clip (slider) or the opacity
// (ghost) of the aligned follow-up photo laid over the baseline.
(function () {
  "use strict";
  // The alignment comes as data attributes: the policy allows no inline style.
  document.querySelectorAll("[data-transform]").forEach(function (img) {
    img.style.transformOrigin = img.getAttribute("data-transform-origin") || "";
    img.style.transform = img.getAttribute("data-transform") || "";
  });
  document.querySelectorAll("[data-compare]").forEach(function (box) {
    var mode = box.getAttribute("data-compare");
    var over = box.querySelector(".over");
    var range = box.parentNode.querySelector("input[type=range]");
    if (!over || !range) return;
    function apply() {
      var v = Number(range.value);
      if (mode === "slider") over.style.clipPath = "inset(0 " + (100 - v) + "% 0 0)";
      else over.style.opacity = String(v / 100);
    }
    range.addEventListener("input", apply);
    apply();
  });
})();

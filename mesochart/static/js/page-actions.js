// Small page behaviours that used to be inline handlers (the Content-Security-Policy
// runs no inline script): [data-print] prints the page, [data-autosubmit] submits its
// form when its value changes.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (target) {
      event.preventDefault();
      window.print();
    }
  });
  document.addEventListener("change", function (event) {
    var field = event.target instanceof Element ? event.target.closest("[data-autosubmit]") : null;
    if (field && field.form) field.form.submit();
  });
})();

// New session form: "Start now" is only for a session that happens today. When the date
// is changed to another day the box is unticked and disabled (the server refuses the
// combination too, with the reason beside the box), and ticked again when it comes back.
(function () {
  "use strict";
  var form = document.getElementById("new-session");
  if (!form) { return; }
  var date = form.querySelector("[name=scheduled_for]");
  var box = form.querySelector("[name=start_now]");
  var hint = document.getElementById("start-now-hint");
  if (!date || !box) { return; }
  var today = form.getAttribute("data-today");
  var wasTicked = box.checked;
  function sync() {
    var isToday = date.value === today;
    if (!isToday) {
      if (!box.disabled) { wasTicked = box.checked; }
      box.checked = false;
      box.disabled = true;
    } else if (box.disabled) {
      box.disabled = false;
      box.checked = wasTicked;
    }
    if (hint) { hint.hidden = isToday; }
  }
  date.addEventListener("change", sync);
  date.addEventListener("input", sync);
  sync();
})();

// Injection maps: turns clicks, drags and keys on an interactive map
// (<svg class="facemap" data-interactive>, rendered by care/maps.py) into DOM events.
// No network calls: the page listens and talks to the server, which resolves the zone
// itself from (view, x, y). Events bubble from the <svg>:
//   facemap:add    {view, x, y, zone}          click on the map (not on a point)
//   facemap:move   {view, pointId, x, y, zone} a point dragged and released
//   facemap:select {pointId}                   a point clicked (or Enter/Space on it)
//   facemap:delete {pointId}                   Delete/Backspace with a point selected
// x and y are normalised to [0, 1] of the view's box, rounded to 4 decimals; zone is the
// polygon under the pointer, for immediate feedback only.
(function () {
  "use strict";
  const DRAG_THRESHOLD_PX = 4;

  function round4(value) {
    return Math.round(Math.min(1, Math.max(0, value)) * 10000) / 10000;
  }

  function normalised(svg, clientX, clientY) {
    const box = svg.viewBox.baseVal;
    const ctm = svg.getScreenCTM();
    if (!ctm || !box || !box.width || !box.height) return null;
    const pt = svg.createSVGPoint();
    pt.x = clientX;
    pt.y = clientY;
    const p = pt.matrixTransform(ctm.inverse());
    return { x: round4((p.x - box.x) / box.width), y: round4((p.y - box.y) / box.height) };
  }

  function zoneOf(element) {
    const zone = element && element.closest ? element.closest(".zone[data-zone]") : null;
    return zone ? zone.getAttribute("data-zone") : null;
  }

  function zoneAt(svg, clientX, clientY) {
    // The topmost zone polygon of this map under the point (points and outlines skipped).
    const stack = document.elementsFromPoint(clientX, clientY);
    for (const el of stack) {
      if (el.classList && el.classList.contains("zone") && svg.contains(el)) return zoneOf(el);
    }
    return null;
  }

  function emit(svg, name, detail) {
    svg.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: detail }));
  }

  let tip = null;
  function tooltip() {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "facemap-tip";
      tip.setAttribute("role", "tooltip");
      tip.hidden = true;
      document.body.appendChild(tip);
    }
    return tip;
  }

  function showTip(text, clientX, clientY) {
    const t = tooltip();
    if (!text) {
      t.hidden = true;
      return;
    }
    t.textContent = text;
    t.style.left = clientX + 12 + "px";
    t.style.top = clientY + 14 + "px";
    t.hidden = false;
  }

  function labelOf(element) {
    const zone = element && element.closest ? element.closest(".zone") : null;
    const title = zone ? zone.querySelector("title") : null;
    return title ? title.textContent : "";
  }

  function select(svg, circle) {
    svg.querySelectorAll(".pt.is-selected").forEach(function (el) {
      if (el !== circle) el.classList.remove("is-selected");
    });
    if (circle) {
      circle.classList.add("is-selected");
      if (document.activeElement !== circle && circle.focus) circle.focus({ preventScroll: true });
      emit(svg, "facemap:select", { pointId: circle.getAttribute("data-point-id") });
    }
  }

  function movePoint(svg, circle, x, y) {
    const box = svg.viewBox.baseVal;
    const cx = box.x + x * box.width;
    const cy = box.y + y * box.height;
    const dx = cx - parseFloat(circle.getAttribute("cx"));
    const dy = cy - parseFloat(circle.getAttribute("cy"));
    circle.setAttribute("cx", cx.toFixed(2));
    circle.setAttribute("cy", cy.toFixed(2));
    const group = circle.closest(".pt-group");
    const num = group ? group.querySelector(".pt-num") : null;
    if (num) {
      num.setAttribute("x", (parseFloat(num.getAttribute("x")) + dx).toFixed(2));
      num.setAttribute("y", (parseFloat(num.getAttribute("y")) + dy).toFixed(2));
    }
  }

  function setup(svg) {
    if (svg.dataset.facemapReady) return;
    svg.dataset.facemapReady = "1";
    const view = svg.getAttribute("data-view");
    let drag = null; // {circle, pointerId, startX, startY, moved, origin}
    let lastDragEnd = 0;

    svg.addEventListener("pointerdown", function (event) {
      if (event.button !== 0) return;
      const circle = event.target.closest(".pt");
      if (!circle) return;
      drag = {
        circle: circle,
        pointerId: event.pointerId,
        startX: event.clientX,
        startY: event.clientY,
        moved: false,
        origin: [circle.getAttribute("cx"), circle.getAttribute("cy")],
      };
      circle.setPointerCapture(event.pointerId);
      event.preventDefault();
    });

    svg.addEventListener("pointermove", function (event) {
      if (drag && event.pointerId === drag.pointerId) {
        const far =
          Math.abs(event.clientX - drag.startX) + Math.abs(event.clientY - drag.startY) >
          DRAG_THRESHOLD_PX;
        if (!drag.moved && !far) return;
        drag.moved = true;
        drag.circle.classList.add("is-dragging");
        const p = normalised(svg, event.clientX, event.clientY);
        if (p) movePoint(svg, drag.circle, p.x, p.y);
        const zone = zoneAt(svg, event.clientX, event.clientY);
        markHover(svg, zone);
        showTip(zone ? labelOfZone(svg, zone) : "", event.clientX, event.clientY);
        return;
      }
      showTip(labelOf(event.target), event.clientX, event.clientY);
    });

    svg.addEventListener("pointerleave", function () {
      if (!drag) showTip("");
    });

    function finish(event, cancelled) {
      if (!drag || event.pointerId !== drag.pointerId) return;
      const d = drag;
      drag = null;
      d.circle.classList.remove("is-dragging");
      markHover(svg, null);
      if (d.circle.hasPointerCapture && d.circle.hasPointerCapture(event.pointerId)) {
        d.circle.releasePointerCapture(event.pointerId);
      }
      showTip("");
      if (cancelled) {
        d.circle.setAttribute("cx", d.origin[0]);
        d.circle.setAttribute("cy", d.origin[1]);
        return;
      }
      if (!d.moved) {
        select(svg, d.circle);
        return;
      }
      const p = normalised(svg, event.clientX, event.clientY);
      if (!p) return;
      emit(svg, "facemap:move", {
        view: view,
        pointId: d.circle.getAttribute("data-point-id"),
        x: p.x,
        y: p.y,
        zone: zoneAt(svg, event.clientX, event.clientY),
      });
      lastDragEnd = Date.now(); // a click right after a drag is not an "add"
    }
    svg.addEventListener("pointerup", function (event) {
      finish(event, false);
    });
    svg.addEventListener("pointercancel", function (event) {
      finish(event, true);
    });

    svg.addEventListener("click", function (event) {
      if (Date.now() - lastDragEnd < 300) return;
      if (event.target.closest(".pt")) return; // handled on pointerup
      const p = normalised(svg, event.clientX, event.clientY);
      if (!p) return;
      select(svg, null);
      emit(svg, "facemap:add", { view: view, x: p.x, y: p.y, zone: zoneOf(event.target) });
    });

    svg.addEventListener("keydown", function (event) {
      const circle = event.target.closest ? event.target.closest(".pt") : null;
      if (!circle) return;
      if (event.key === "Enter" || event.key === " ") {
        select(svg, circle);
        event.preventDefault();
      } else if (event.key === "Delete" || event.key === "Backspace") {
        if (!circle.classList.contains("is-selected")) select(svg, circle);
        emit(svg, "facemap:delete", { pointId: circle.getAttribute("data-point-id") });
        event.preventDefault();
      } else if (event.key === "Escape") {
        circle.classList.remove("is-selected");
        circle.blur();
      }
    });
  }

  function markHover(svg, zone) {
    // While dragging, pointer capture disables :hover: mark the zone under the pointer.
    svg.querySelectorAll(".zone-group.is-hover").forEach(function (g) {
      if (g.getAttribute("data-zone") !== zone) g.classList.remove("is-hover");
    });
    if (zone) {
      const group = svg.querySelector('.zone-group[data-zone="' + CSS.escape(zone) + '"]');
      if (group) group.classList.add("is-hover");
    }
  }

  function labelOfZone(svg, zone) {
    const el = svg.querySelector('.zone[data-zone="' + CSS.escape(zone) + '"] > title');
    return el ? el.textContent : zone;
  }

  // Delete/Backspace with a point selected but focus elsewhere on the page (not in a field).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Delete" && event.key !== "Backspace") return;
    const active = document.activeElement;
    if (active && (active.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName))) {
      return;
    }
    if (active && active.closest && active.closest("svg.facemap")) return; // handled above
    const selected = document.querySelector("svg.facemap[data-interactive] .pt.is-selected");
    if (!selected) return;
    emit(selected.closest("svg.facemap"), "facemap:delete", {
      pointId: selected.getAttribute("data-point-id"),
    });
    event.preventDefault();
  });

  function init(root) {
    const scope = root && root.querySelectorAll ? root : document;
    if (scope.matches && scope.matches("svg.facemap[data-interactive]")) setup(scope);
    scope.querySelectorAll("svg.facemap[data-interactive]").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init(document);
    });
  } else {
    init(document);
  }
  document.addEventListener("htmx:load", function (event) {
    init(event.target);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    init(event.target);
  });

  window.Facemap = { init: init };
})();

// The bars of the check's error chart and of the comparison's change chart, refined: a bar
// that has the focus (reached by Tab, or tapped) or the pointer shows its value beside it, in
// the page, not only in a tooltip; it stays a link to its layer's row, which shows its values
// too. Listeners sit on the document, so a chart the live check swaps in works too. Without
// this script each bar is still that link, and the row has the values.
(function () {
  "use strict";
  var GAP = 4;  // px between the value and its bar

  function barOf(target) {
    return target && target.closest ? target.closest(".error-chart a") : null;
  }

  function labelOf(link) {
    var plot = link.closest(".plot");
    return plot && plot.querySelector("[data-bar-value]");
  }

  function show(link) {
    var label = labelOf(link);
    if (!label) return;
    var plot = label.parentElement;
    label.textContent = link.getAttribute("aria-label");
    label.hidden = false;
    var frame = plot.getBoundingClientRect();
    var bar = link.querySelector("rect").getBoundingClientRect();
    var width = label.offsetWidth, height = label.offsetHeight;
    var centre = bar.left + bar.width / 2 - frame.left;
    var left = Math.max(0, Math.min(centre - width / 2, frame.width - width));
    var top = bar.top - frame.top - height - GAP;
    if (top < 0) top = Math.min(frame.height - height, bar.bottom - frame.top + GAP);
    label.style.left = left + "px";
    label.style.top = Math.max(0, top) + "px";
  }

  function hide(link) {
    var label = labelOf(link);
    if (label) label.hidden = true;
  }

  // The bar last focused or tapped keeps its value shown after its link is followed (the
  // focus then leaves it for no other element), until the focus moves to something else.
  var pinned = null;

  document.addEventListener("focusin", function (event) {
    var link = barOf(event.target);
    if (link) { pinned = link; show(link); }
  });
  document.addEventListener("focusout", function (event) {
    var link = barOf(event.target);
    if (!link || !event.relatedTarget) return;
    pinned = null;
    hide(link);
  });
  document.addEventListener("mouseover", function (event) {
    var link = barOf(event.target);
    if (link) show(link);
  });
  document.addEventListener("mouseout", function (event) {
    var link = barOf(event.target);
    if (!link) return;
    hide(link);
    if (pinned && document.contains(pinned)) show(pinned);  // back to the focused bar's value
  });
})();

// The graph, enhanced: the overlay switch and a folded group's box work in place, without
// reloading the page. Without this script the same links reach the server (`?overlay=`,
// `?open=`), which renders the page that way.
(function () {
  "use strict";
  var graph = document.querySelector("[data-graph]");
  if (!graph) return;

  function overlayFrom(link) {
    graph.setAttribute("data-overlay", link.getAttribute("data-overlay-link"));
    graph.querySelectorAll("[data-overlay-link]").forEach(function (other) {
      if (other === link) other.setAttribute("aria-current", "true");
      else other.removeAttribute("aria-current");
    });
    history.replaceState(null, "", link.href);
  }

  function openGroup(href) {
    var hash = href.slice(href.indexOf("#") + 1);
    var target = document.getElementById(hash);
    if (!target) return false;
    for (var d = target; d; d = d.parentElement ? d.parentElement.closest("details") : null) d.open = true;
    target.scrollIntoView({ block: "start" });
    var summary = target.querySelector("summary");
    if (summary) summary.focus();
    return true;
  }

  graph.addEventListener("click", function (event) {
    var link = event.target.closest("a");
    if (!link) return;
    if (link.hasAttribute("data-overlay-link")) {
      event.preventDefault();
      overlayFrom(link);
      return;
    }
    var href = link.getAttribute("href") || link.getAttribute("xlink:href") || "";
    if (href.indexOf("open=") >= 0 && href.indexOf("#") >= 0 && openGroup(href)) event.preventDefault();
  });
})();

// The graph, enhanced: the overlay switch and a folded group's box work in place, without
// reloading the page, and a group's drawing is loaded when it is opened (the page holds only
// the open ones'). Without this script the same links reach the server (`?overlay=`,
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

  function load(details) {
    var view = details.querySelector(":scope > .graph-view");
    var link = view && view.querySelector("[data-graph-src]");
    if (!link || link.hasAttribute("data-loading")) return;
    link.setAttribute("data-loading", "");
    fetch(link.getAttribute("data-graph-src"), { headers: { accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (svg) { view.innerHTML = svg; })
      .catch(function () { link.removeAttribute("data-loading"); });  // the link still works
  }

  graph.querySelectorAll("details[data-graph-group]").forEach(function (details) {
    details.addEventListener("toggle", function () { if (details.open) load(details); });
  });

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

// The layer table, enhanced: the filter applies as you type or choose, every nested model
// folds or unfolds at once, and a link to a block of the reference's code opens it. Without this script the same filter is a GET form the server
// answers, and each nested model folds on its own.
(function () {
  "use strict";
  var form = document.querySelector("[data-layer-filter]");
  if (!form) return;
  var section = form.closest("section");
  var rows = Array.prototype.slice.call(section.querySelectorAll("tr[data-layer]"));
  var runs = Array.prototype.slice.call(section.querySelectorAll("[data-run]"));
  var groups = Array.prototype.slice.call(section.querySelectorAll("details[data-group]")).reverse();
  var shown = form.querySelector("[data-shown]");
  var empty = section.querySelector("[data-empty]");
  var cls = form.elements["class"], text = form.elements.q, weights = form.elements.weights;

  function keeps(row, wanted) {
    if (wanted.cls && row.getAttribute("data-class") !== wanted.cls) return false;
    if (wanted.text && row.getAttribute("data-name").indexOf(wanted.text) < 0) return false;
    return !(wanted.weights && row.getAttribute("data-weights") !== "1");
  }

  function apply() {
    var wanted = { cls: cls.value, text: text.value.trim().toLowerCase(), weights: weights.checked };
    var active = Boolean(wanted.cls || wanted.text || wanted.weights), count = 0;
    rows.forEach(function (row) {
      row.hidden = !keeps(row, wanted);
      var hand = row.nextElementSibling;  // the layer's "by hand" row goes with it
      if (hand && hand.hasAttribute("data-hand")) hand.hidden = row.hidden;
      if (!row.hidden) count += 1;
    });
    runs.forEach(function (run) { run.hidden = !run.querySelector("tr[data-layer]:not([hidden])"); });
    groups.forEach(function (group) {  // innermost first, so a parent sees its children's state
      group.hidden = !group.querySelector("tr[data-layer]:not([hidden])");
      if (active && !group.hidden) group.open = true;
    });
    shown.textContent = String(count);
    empty.hidden = count > 0;
    remember(wanted);
  }

  function remember(wanted) {
    var params = new URLSearchParams();
    if (wanted.cls) params.set("class", wanted.cls);
    if (wanted.text) params.set("q", text.value.trim());
    if (wanted.weights) params.set("weights", "1");
    var query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : "") + location.hash);
  }

  form.addEventListener("submit", function (event) { event.preventDefault(); apply(); });
  cls.addEventListener("change", apply);
  weights.addEventListener("change", apply);
  text.addEventListener("input", apply);
  var clear = form.querySelector("[data-clear]");
  if (clear) clear.hidden = true;
  form.querySelector("[data-apply]").hidden = true;

  function foldAll(open) {
    groups.forEach(function (group) { group.open = open; });
  }
  var expand = form.querySelector("[data-expand]"), collapse = form.querySelector("[data-collapse]");
  if (expand && collapse) {
    expand.hidden = collapse.hidden = false;
    form.querySelectorAll("[data-fold-link]").forEach(function (link) { link.hidden = true; });
    expand.addEventListener("click", function () { foldAll(true); });
    collapse.addEventListener("click", function () { foldAll(false); });
  }

  // A link to a row inside a folded model (from the charts or the check) unfolds it first.
  function reveal() {
    var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    // A link to a function of the reference's code opens its block too.
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    if (target.hidden) { cls.value = ""; text.value = ""; weights.checked = false; apply(); }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  reveal();
})();

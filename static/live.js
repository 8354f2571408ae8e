// A queued or running check, followed live: the progress bar moves as the JSON API reports
// the stage; once the check ends, the parts of the page that show it are swapped for the
// server's rendering of the result. Nothing else on the page is touched.
(function () {
  "use strict";
  var root = document.querySelector("[data-check-poll]");
  if (!root || !window.fetch || !window.DOMParser) return;
  var url = root.getAttribute("data-check-poll");
  var stages = root.getAttribute("data-stages").split(" ");
  // About once a second while it runs, slower on a long wait or a lost connection.
  var delay = 800, failures = 0, MAX_DELAY = 5000, MAX_FAILURES = 20;

  function percent(progress) {
    var at = Math.max(0, stages.indexOf(progress.stage));
    var within = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 0;
    return Math.round((100 * (at + within)) / stages.length);
  }

  function showProgress(check) {
    var progress = check.progress || { stage: "queued", done: 0, total: 1 };
    var at = stages.indexOf(progress.stage);
    document.querySelectorAll("[data-progress]").forEach(function (block) {
      var label = "";
      block.querySelectorAll("[data-stage]").forEach(function (step, i) {
        step.className = i < at ? "done" : i === at ? "current" : "todo";
        if (i === at) label = step.textContent;
      });
      if (progress.total > 1) label += " (" + progress.done + " of " + progress.total + ")";
      block.querySelector("[data-progress-text]").textContent = label;
      block.querySelector("[data-progress-percent]").textContent = percent(progress) + "%";
      var bar = block.querySelector("[data-progress-bar]");
      bar.value = percent(progress);
      bar.textContent = percent(progress) + "%";
    });
    var stage = document.querySelector('[data-stage="' + progress.stage + '"]');
    document.querySelectorAll("[data-progress-stage]").forEach(function (label) {
      if (stage) label.textContent = stage.textContent;
    });
    document.querySelectorAll("[data-check-status]").forEach(function (badge) {
      badge.textContent = check.status === "queued" ? "Queued" : "Running";
    });
  }

  function swapResult() {
    return fetch(location.pathname + location.search, { headers: { Accept: "text/html" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        document.querySelectorAll("[data-live]").forEach(function (part) {
          var fresh = page.querySelector('[data-live="' + part.getAttribute("data-live") + '"]');
          if (fresh) part.replaceWith(document.importNode(fresh, true));
        });
      });
  }

  function lost() {
    document.querySelectorAll("[data-live-hint]").forEach(function (hint) {
      hint.textContent = "Lost contact with the server; trying again…";
    });
  }

  function later() {
    delay = Math.min(MAX_DELAY, delay * (failures ? 1.5 : 1.03));
    setTimeout(poll, delay);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (check) {
        failures = 0;
        var status = check.status;
        if (status === "queued" || status === "running") {
          showProgress(check);
          later();
        } else {
          return swapResult();
        }
      })
      .catch(function () {
        failures += 1;
        lost();
        if (failures < MAX_FAILURES) later();
      });
  }

  document.querySelectorAll("[data-live-hint]").forEach(function (hint) { hint.hidden = false; });
  setTimeout(poll, delay);
})();

// The two forms of the upload page, enhanced: a file dropped on the form, how far a large
// upload has got, the stage the server is at while it reads the model (GET
// /api/v1/progress/<key>), and an error shown beside its form, which keeps the chosen file,
// the pasted spec and the options. Without this script each form posts as usual: the server
// redirects to the report, or answers the error page.
(function () {
  "use strict";
  if (!window.FormData || !window.XMLHttpRequest) return;
  var POLL_MS = 500;
  var home = { title: document.title, url: location.pathname + location.search };
  var problems = [];

  function size(bytes) {
    var units = ["B", "KB", "MB", "GB"], i = 0;
    while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
    return (i ? bytes.toFixed(1) : String(bytes)) + " " + units[i];
  }

  function randomKey() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  // An error comes back as the error page: its code, sentence and next step.
  function errorOf(xhr) {
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var code = page.getElementById("error-code");
    if (!code) return null;
    var next = page.querySelector(".next p");
    return {
      code: code.textContent,
      message: page.querySelector("h1").textContent,
      next: next ? next.textContent : "",
      title: page.title
    };
  }

  // The address gets its own history entry (?error=<code>): Back returns to the form as it
  // was before, instead of leaving the app.
  window.addEventListener("popstate", function () {
    if (location.search.indexOf("error=") >= 0) return;
    problems.forEach(function (problem) { problem.hidden = true; });
    document.title = home.title;
  });

  function enhance(form, sent) {
    var box = form.querySelector("[data-upload-progress]");
    var bar = box.querySelector("progress");
    var label = box.querySelector("[data-upload-label]");
    var steps = box.querySelector("[data-stages]");
    var problem = form.querySelector("[data-upload-error]");
    var button = form.querySelector("button[type=submit]");
    var waiting = null;
    problems.push(problem);
    form.querySelector("[data-reading-hint]").hidden = true;  // the stages will say it

    function showError(error, status) {
      problem.textContent = "";
      if (!error) {
        problem.textContent = "The request failed (HTTP " + status + "). Please try again.";
      } else {
        var head = document.createElement("strong");
        head.textContent = error.message;
        var code = document.createElement("code");
        code.id = "error-code";
        code.textContent = error.code;
        var line = document.createElement("span");
        line.className = "code-line";
        line.append("Code ", code, " (HTTP " + status + ")");
        var next = document.createElement("span");
        next.className = "next";
        next.textContent = error.next;
        problem.append(head, line, next);
        document.title = error.title;
        history.pushState({ error: error.code }, "", "/?error=" + encodeURIComponent(error.code));
      }
      problems.forEach(function (other) {
        if (other !== problem) { other.hidden = true; other.textContent = ""; }
      });
      problem.hidden = false;
      problem.scrollIntoView({ block: "nearest" });
      if (sent.onError) sent.onError(error);
    }

    // While the server works there is no byte count: the stage it reports, and how long it
    // has been at it, so a slow model does not look like a hung page. A stage the server
    // does not know of (another replica, or not begun) keeps the last words shown.
    function followStages(key) {
      var started = Date.now(), shown = null;
      bar.removeAttribute("value");  // indeterminate
      steps.hidden = false;
      function say() {
        var s = Math.round((Date.now() - started) / 1000);
        var text = shown ? shown : "Sent. Waiting for the server";
        label.textContent = text + (s ? " (" + s + " s)" : "") + "…";
      }
      function mark(stage) {
        var items = steps.querySelectorAll("[data-stage]"), at = -1;
        items.forEach(function (item, i) { if (item.getAttribute("data-stage") === stage) at = i; });
        if (at < 0) return;
        items.forEach(function (item, i) {
          item.className = i < at ? "done" : i === at ? "current" : "todo";
          if (i === at) item.hidden = false;
        });
        var item = items[at], count = steps.querySelectorAll("[data-stage]:not([hidden])").length;
        shown = "Step " + (at + 1) + " of " + count + " · " + item.textContent + ": " + item.getAttribute("data-detail");
      }
      function poll() {
        var xhr = new XMLHttpRequest();
        xhr.open("GET", "/api/v1/progress/" + key);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.addEventListener("load", function () {
          if (waiting === null) return;  // the answer came first
          var stage = xhr.status === 200 ? JSON.parse(xhr.responseText).stage : null;
          if (stage) mark(stage);
          say();
          waiting = setTimeout(poll, POLL_MS);
        });
        xhr.addEventListener("error", function () { if (waiting !== null) waiting = setTimeout(poll, POLL_MS); });
        xhr.send();
      }
      say();
      waiting = setTimeout(poll, 0);
    }

    function stopWaiting() {
      if (waiting !== null) clearTimeout(waiting);
      waiting = null;
    }

    function done(xhr) {
      stopWaiting();
      box.hidden = true;
      button.disabled = false;
      if (xhr.status === 200 && /\/reports\/[^/]+$/.test(new URL(xhr.responseURL).pathname)) {
        box.hidden = false;
        label.textContent = "Done — opening the report…";
        window.location.assign(xhr.responseURL);
      } else {
        showError(errorOf(xhr), xhr.status);
      }
    }

    form.addEventListener("submit", function (event) {
      var data = sent.data();
      if (!data) return;  // the browser says what is missing
      event.preventDefault();
      var key = randomKey();
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action + "?progress=" + key);
      xhr.setRequestHeader("Accept", "text/html");
      if (sent.file) {
        xhr.upload.addEventListener("progress", function (e) {
          if (!e.lengthComputable) return;
          bar.value = Math.round((100 * e.loaded) / e.total);
          label.textContent = "Uploading: " + size(e.loaded) + " of " + size(e.total) + " (" + bar.value + "%)";
        });
      }
      xhr.upload.addEventListener("load", function () { followStages(key); });
      xhr.addEventListener("load", function () { done(xhr); });
      xhr.addEventListener("error", function () {
        stopWaiting();
        box.hidden = true;
        button.disabled = false;
        problem.textContent = "The connection failed before the server answered. Please try again.";
        problem.hidden = false;
      });
      box.hidden = false;
      steps.hidden = true;
      problem.hidden = true;
      button.disabled = true;
      label.textContent = sent.file ? "Uploading…" : "Sending…";
      xhr.send(data);
    });
  }

  // The file form: a file dropped on it is the one sent; a file over the limit is named.
  var upload = document.getElementById("upload-form");
  if (upload) {
    var input = upload.querySelector("#file");
    var zone = upload.querySelector("[data-dropzone]");
    var chosen = upload.querySelector("[data-chosen]");
    var uploadProblem = upload.querySelector("[data-upload-error]");
    var maxBytes = Number(upload.getAttribute("data-max-bytes"));

    var showChosen = function () {
      var file = input.files && input.files[0];
      uploadProblem.hidden = true;
      if (!file) return;
      chosen.textContent = file.name + " · " + size(file.size);
      zone.classList.add("has-file");
      if (file.size > maxBytes) {
        uploadProblem.textContent = "This file is " + size(file.size) + ", over the limit of " + size(maxBytes) + ": the service will refuse it.";
        uploadProblem.hidden = false;
      }
    };
    input.addEventListener("change", showChosen);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        showChosen();
      }
    });

    enhance(upload, {
      file: true,
      data: function () {
        if (!input.files || !input.files.length) return null;
        var data = new FormData(upload);
        var inputs = data.get("inputs");
        if (inputs && !inputs.name) data.delete("inputs");  // no inputs file chosen
        return data;
      }
    });
  }

  // The spec form: the pasted text stays; an error with a place in it (invalid JSON at a
  // line and column) puts the caret there.
  var specForm = document.getElementById("spec-form");
  if (specForm) {
    var spec = specForm.querySelector("#spec");
    enhance(specForm, {
      file: false,
      data: function () { return spec.value.trim() ? new FormData(specForm) : null; },
      onError: function (error) {
        var at = error && /line (\d+), column (\d+)/.exec(error.message);
        if (!at) return;
        var lines = spec.value.split("\n"), offset = 0;
        for (var i = 0; i < Number(at[1]) - 1 && i < lines.length; i += 1) offset += lines[i].length + 1;
        offset = Math.min(spec.value.length, offset + Number(at[2]) - 1);
        spec.focus();
        spec.setSelectionRange(offset, Math.min(spec.value.length, offset + 1));
      }
    });
  }
})();

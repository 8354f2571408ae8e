// The upload form, enhanced: drop a file on it, see how far a large upload has got.
// Without this script the form posts as usual and the server redirects to the report.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;
  var input = form.querySelector("#file");
  var zone = form.querySelector("[data-dropzone]");
  var chosen = form.querySelector("[data-chosen]");
  var box = form.querySelector("[data-upload-progress]");
  var bar = box.querySelector("progress");
  var label = form.querySelector("[data-upload-label]");
  var problem = form.querySelector("[data-upload-error]");
  var button = form.querySelector("button[type=submit]");
  var maxBytes = Number(form.getAttribute("data-max-bytes"));

  function size(bytes) {
    var units = ["B", "KB", "MB", "GB"], i = 0;
    while (bytes >= 1000 && i < units.length - 1) { bytes /= 1000; i += 1; }
    return (i ? bytes.toFixed(1) : String(bytes)) + " " + units[i];
  }

  function showChosen() {
    var file = input.files && input.files[0];
    problem.hidden = true;
    if (!file) return;
    chosen.textContent = file.name + " · " + size(file.size);
    zone.classList.add("has-file");
    if (file.size > maxBytes) {
      problem.textContent = "This file is " + size(file.size) + ", over the limit of " + size(maxBytes) + ": the service will refuse it.";
      problem.hidden = false;
    }
  }

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

  function formData() {
    var data = new FormData(form);
    var inputs = data.get("inputs");
    if (inputs && !inputs.name) data.delete("inputs");  // no inputs file chosen
    return data;
  }

  // An error comes back as the error page: its code, sentence and next step are shown
  // beside the form, which keeps the chosen file and options, so the person can fix one thing
  // and send again. The address gets its own history entry (?error=<code>): Back returns to
  // the empty form instead of leaving the app.
  var home = { title: document.title, url: location.pathname + location.search };

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

  function showError(error, status) {
    problem.textContent = "";
    if (!error) {
      problem.textContent = "The upload failed (HTTP " + status + "). Please try again.";
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
    problem.hidden = false;
    problem.scrollIntoView({ block: "nearest" });
  }

  window.addEventListener("popstate", function () {
    if (location.search.indexOf("error=") >= 0) return;
    problem.hidden = true;
    document.title = home.title;
  });

  function done(xhr) {
    box.hidden = true;
    button.disabled = false;
    clearInterval(ticking);
    if (xhr.status === 200 && /\/reports\/[^/]+$/.test(new URL(xhr.responseURL).pathname)) {
      box.hidden = false;
      label.textContent = "Done — opening the report…";
      window.location.assign(xhr.responseURL);
    } else {
      showError(errorOf(xhr), xhr.status);
    }
  }

  // While the server reads the model there is no byte count to show: the steps it takes, and
  // how long it has been at them, so a slow model does not look like a hung page.
  var ticking = null;
  function reading() {
    var started = Date.now();
    bar.removeAttribute("value");  // indeterminate
    function tick() {
      var s = Math.round((Date.now() - started) / 1000);
      label.textContent = "Uploaded. Reading the model: safety scan, layers, parameter breakdown" +
        (s ? " (" + s + " s)" : "") + "…";
    }
    tick();
    ticking = setInterval(tick, 1000);
  }

  form.addEventListener("submit", function (event) {
    if (!input.files || !input.files.length) return;  // the browser says a file is required
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "text/html");
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar.value = Math.round((100 * e.loaded) / e.total);
      label.textContent = "Uploading: " + size(e.loaded) + " of " + size(e.total) + " (" + bar.value + "%)";
    });
    xhr.upload.addEventListener("load", reading);
    xhr.addEventListener("load", function () { done(xhr); });
    xhr.addEventListener("error", function () {
      box.hidden = true;
      button.disabled = false;
      clearInterval(ticking);
      problem.textContent = "The connection failed before the upload finished. Please try again.";
      problem.hidden = false;
    });
    box.hidden = false;
    problem.hidden = true;
    button.disabled = true;
    label.textContent = "Uploading…";
    xhr.send(formData());
  });
})();

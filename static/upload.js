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

  function showPage(xhr) {
    // An error comes back as the error page: show it in place of the form.
    var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var main = page.querySelector("main");
    if (!main) {
      problem.textContent = "The upload failed (HTTP " + xhr.status + "). Please try again.";
      problem.hidden = false;
      return;
    }
    document.title = page.title;
    document.querySelector("main").replaceWith(document.importNode(main, true));
    document.querySelector("main").focus();
  }

  function done(xhr) {
    if (xhr.status === 200 && /\/reports\/[^/]+$/.test(new URL(xhr.responseURL).pathname)) {
      label.textContent = "Done — opening the report…";
      window.location.assign(xhr.responseURL);
    } else {
      showPage(xhr);
    }
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
    xhr.upload.addEventListener("load", function () {
      bar.removeAttribute("value");  // indeterminate while the server reads the model
      label.textContent = "Uploaded. Reading the model…";
    });
    xhr.addEventListener("load", function () { done(xhr); });
    xhr.addEventListener("error", function () {
      box.hidden = true;
      button.disabled = false;
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

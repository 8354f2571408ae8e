// "Copy" buttons next to snippets; without this script the text is there to select.
(function () {
  "use strict";
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.textContent).then(
        function () { button.textContent = "Copied"; },
        function () { button.textContent = "Select and copy"; }
      );
      setTimeout(function () { button.textContent = "Copy"; }, 2000);
    });
  });
})();

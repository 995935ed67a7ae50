// Small behaviours the CSP allows (no inline script): auto-submitting selects, search keyboard use.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]")) {
      target.form.submit();
    }
  });
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("search-results");
    if (!box) { return; }
    var links = Array.prototype.slice.call(box.querySelectorAll("a"));
    if (event.key === "Escape") { box.innerHTML = ""; return; }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
    if (!links.length || !event.target.closest || !event.target.closest(".search")) { return; }
    var index = links.indexOf(document.activeElement);
    index = event.key === "ArrowDown" ? Math.min(index + 1, links.length - 1) : Math.max(index - 1, -1);
    event.preventDefault();
    if (index < 0) { document.getElementById("global-search").focus(); } else { links[index].focus(); }
  });
  // After an inline form succeeds the server clears it; keep focus in the form for the next entry.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var first = event.target.querySelector && event.target.querySelector("[autofocus]");
    if (first) { first.focus(); }
  });
})();

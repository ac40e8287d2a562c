// data-okno-confirm="question" on a button or link: the click goes on only if the user confirms.
// No inline onclick (the Content-Security-Policy forbids it). A document listener in the capture phase
// runs before htmx's and the form's own handling, and works where the file loads in <head> (the admin).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-okno-confirm]");
    if (el && !window.confirm(el.dataset.oknoConfirm)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
})();

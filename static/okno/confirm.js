// data-okno-confirm="question" on a button or link: the click goes on only if the user confirms.
// No inline onclick (the Content-Security-Policy forbids it). A document listener in the capture phase
// runs before htmx's and the form's own handling, and works where the file loads in <head> (the admin).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-okno-confirm]");
    if (el && !window.confirm(el.dataset.oknoConfirm)) { e.preventDefault(); e.stopImmediatePropagation(); }
  }, true);
  // data-okno-dismiss="selector": removes the nearest enclosing element that matches (the question
  // "this change will reset N signatures", templates/changeplans/inc/confirm_reset.html; nothing is sent).
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-okno-dismiss]");
    var box = el && el.closest(el.dataset.oknoDismiss);
    if (box) { e.preventDefault(); box.remove(); }
  });
  // Enter or Space on a button of the question presses that button (the cell editor's own Enter handler,
  // which saves without confirming, must not see it).
  document.addEventListener("keydown", function (e) {
    if ((e.key === "Enter" || e.key === " ") && e.target.closest && e.target.closest(".okno-confirm-reset button")) e.stopPropagation();
  }, true);
  // The question appears with its confirming button focused: Enter confirms, Tab reaches Cancel.
  document.addEventListener("htmx:afterSettle", function (e) {
    var yes = e.detail.elt && e.detail.elt.querySelector && e.detail.elt.querySelector(".okno-confirm-reset-yes");
    if (!yes && e.detail.elt && e.detail.elt.nextElementSibling && e.detail.elt.nextElementSibling.matches(".okno-confirm-reset")) {
      yes = e.detail.elt.nextElementSibling.querySelector(".okno-confirm-reset-yes");
    }
    if (yes) yes.focus();
  });
})();

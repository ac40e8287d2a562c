// The sign-off matrix builder (templates/approvals/inc/matrix_builder.html): each row is saved when one of
// its fields changes (htmx, hx-trigger="change" on the row). Enter in a text field saves at once.
// The person picker (picker.js) fills a hidden "who" input: a choice saves the row; typing a new name
// clears the choice without saving, and leaving the field with no choice made saves the row without one.
(function () {
  "use strict";
  function row(el) { return el.closest && el.closest("tr.okno-matrix-edit-row"); }

  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!row(el)) return;
    if (el.matches("input[type=hidden][name=who]") && !el.value) {
      e.stopPropagation();  // typing in the picker: wait for a choice, or for the field to be left
    } else if (el.matches("input[data-okno-picker]")) {
      var hidden = row(el).querySelector("input[type=hidden][name=who]");
      if (hidden && hidden.value) e.stopPropagation();  // the choice was saved when it was made
    }
  }, true);

  document.addEventListener("keydown", function (e) {
    var el = e.target;
    if (e.key !== "Enter" || !el.matches || !el.matches(".okno-matrix-job, .okno-matrix-stage")) return;
    if (!row(el)) return;
    e.preventDefault();
    el.dispatchEvent(new Event("change", { bubbles: true }));
  });
})();

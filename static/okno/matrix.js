// Plan page: a step or header edit of a plan under sign-off may make a new version and reset signatures:
// refresh the sign-off matrix (and, out of band, the status) after such a swap.
(function () {
  "use strict";
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var id = e.detail.target && e.detail.target.id;
    if (id !== "steps-body" && id !== "plan-header") return;
    var matrix = document.getElementById("approval-matrix");
    if (matrix && matrix.hasAttribute("data-live")) htmx.trigger(matrix, "okno:refresh");
  });
})();

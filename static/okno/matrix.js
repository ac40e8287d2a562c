// Plan page: a step or header edit of a plan under sign-off may make a new version and reset signatures:
// refresh the sign-off matrix (and, out of band, the status) after such a swap. A save answers with the
// whole step table (#steps-body) or with the changed row only (#step-<id>, its risks panel #risks-<id>).
(function () {
  "use strict";
  var EDITED = /^(steps-body|plan-header|step-\d+|risks-\d+)$/;
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var id = e.detail.target && e.detail.target.id;
    if (!id || !EDITED.test(id)) return;
    var verb = e.detail.requestConfig && e.detail.requestConfig.verb;
    if (verb === "get") return;  // opening or closing an editor changes nothing
    var matrix = document.getElementById("approval-matrix");
    if (matrix && matrix.hasAttribute("data-live")) htmx.trigger(matrix, "okno:refresh");
  });
})();

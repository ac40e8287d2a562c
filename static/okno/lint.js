// Plan check: each finding links to the cell it is about (#cell-<step>-<field>, or a part of the header).
// A click scrolls the cell into view, selects it (td.okno-cell.okno-selected: the grid's selection) and
// flashes it. A cell in a hidden column is not selected: its row is shown and flashed instead.
(function () {
  "use strict";

  function flash(el) {
    if (!el.animate) return;
    el.classList.add("okno-flashing");
    var animation = el.animate(
      [{ boxShadow: "inset 0 0 0 3px #fd7e14", backgroundColor: "#fff3cd" }, { boxShadow: "inset 0 0 0 3px transparent" }],
      { duration: 1400, easing: "ease-out" }
    );
    animation.onfinish = animation.oncancel = function () { el.classList.remove("okno-flashing"); };
  }

  function select(cell) {
    // The grid (keyboard navigation) may keep its own idea of the selection: tell it, then mark the cell.
    var event = new CustomEvent("okno:select-cell", { bubbles: true, cancelable: true, detail: { cell: cell } });
    if (!cell.dispatchEvent(event)) return;  // the grid selected it itself
    document.querySelectorAll("td.okno-selected").forEach(function (other) {
      if (other !== cell) other.classList.remove("okno-selected");
    });
    cell.classList.add("okno-selected");
    if (cell.hasAttribute("tabindex")) cell.focus({ preventScroll: true });
  }

  document.body.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("a[data-okno-finding]");
    if (!link || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    var target = document.getElementById(link.dataset.oknoFinding);
    if (!target) return;  // e.g. the header is open for editing: the address's anchor does the rest
    e.preventDefault();
    var isCell = target.matches("td.okno-cell");
    if (isCell && target.offsetParent === null) target = target.closest("tr") || target;  // a hidden column
    else if (isCell) select(target);
    target.scrollIntoView({ block: "center", inline: "center", behavior: "smooth" });
    flash(target);
  });
})();

// Paste a block copied from Excel, LibreOffice or a Word table into the step table (issue 13).
// Ctrl+V on a selected cell (td.okno-cell.okno-selected, the grid's selection) with no editor open sends
// ONE request: the selected step, the visible columns from that cell to the right, and the block —
// rows read from the clipboard's text/html table, or else its tab-separated text/plain, which the server
// reads (Excel's quoting included: changeplans/paste.py parse_tsv). The server answers with the table,
// the plan check and a per-cell report above the table (#paste-report).
// Merged cells of an HTML table: a cell spanning rows is repeated in each row it covers (what the reader
// of the table sees there); the extra columns of a cell spanning columns are left alone (null: unchanged).
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.pasteUrl;
  if (!url) return;

  // Until the keyboard grid (okno/grid.js) is on the page, a click on a cell selects it here.
  function hasGrid() { return !!document.querySelector('script[src*="okno/grid.js"]'); }
  var remembered = null;  // {step, index} of our own selection, re-found after htmx swaps the table
  function select(td) {
    document.querySelectorAll("td.okno-selected").forEach(function (el) {
      el.classList.remove("okno-selected"); el.style.outline = "";
    });
    td.classList.add("okno-selected");
    td.style.outline = "2px solid #0d6efd";  // the grid's stylesheet draws the selection once it exists
    remembered = { step: td.closest("tr").dataset.step, index: td.cellIndex };
  }
  document.body.addEventListener("click", function (e) {
    if (hasGrid()) return;
    var td = e.target.closest && e.target.closest("#steps-body tr.okno-step > td.okno-cell");
    if (td) select(td);
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (hasGrid() || !remembered || document.querySelector("#steps-body td.okno-selected")) return;
    var row = document.getElementById("step-" + remembered.step);
    if (row && row.cells[remembered.index]) select(row.cells[remembered.index]);
  });

  // The report sits above the table; the server fills it (out of band, or retargeted for a question).
  function reportHolder() {
    var holder = document.getElementById("paste-report");
    var table = document.getElementById("steps-table");
    if (holder || !table) return holder;
    holder = document.createElement("div");
    holder.id = "paste-report";
    var wrap = table.closest(".okno-steps-wrap") || table;
    wrap.parentNode.insertBefore(holder, wrap);
    return holder;
  }
  reportHolder();

  // The column a cell belongs to, by the grid's data-field, the cell's id or its class.
  function columnKey(td) {
    if (td.dataset.field) return td.dataset.field;
    var match = /^cell-\d+-(.+)$/.exec(td.id || "");
    if (match) return match[1];
    if (td.classList.contains("okno-risks")) return "risks";
    if (td.classList.contains("okno-rollback")) return "rollback_actions";
    if (td.classList.contains("okno-col-no")) return "position";
    if (td.querySelector(".okno-status")) return "status";
    return "?";
  }
  // The visible columns from the selected cell to the right (hidden columns have no offsetParent).
  function columnsFrom(cell) {
    var keys = [];
    for (var td = cell; td; td = td.nextElementSibling) {
      if (td.classList.contains("okno-col-actions")) break;
      if (td.offsetParent === null) continue;
      keys.push(columnKey(td));
    }
    return keys;
  }

  // The text of a table cell as its reader sees it: <br> and paragraphs are line breaks, runs of
  // spaces (and Word's &nbsp;) one space, no blank lines around.
  var BLOCKS = /^(P|DIV|LI|UL|OL|TR|TABLE|H[1-6]|BLOCKQUOTE|PRE)$/;
  function cellText(td) {
    var out = "";
    function newline() { if (out && out.charAt(out.length - 1) !== "\n") out += "\n"; }
    (function walk(node) {
      Array.prototype.forEach.call(node.childNodes, function (child) {
        if (child.nodeType === 3) { out += child.data.replace(/[ \t\r\n\f]+/g, " "); return; }
        if (child.nodeType !== 1) return;
        var tag = child.tagName.toUpperCase();
        if (tag === "BR") out += "\n";
        else if (tag === "STYLE" || tag === "SCRIPT" || tag === "TEMPLATE") return;
        else if (BLOCKS.test(tag)) { newline(); walk(child); newline(); }
        else walk(child);
      });
    })(td);
    return out.split("\n").map(function (line) {
      return line.replace(/\u00a0/g, " ").replace(/ {2,}/g, " ").trim();
    }).join("\n").replace(/\n{3,}/g, "\n\n").replace(/^\n+|\n+$/g, "");
  }
  var MAX_SPAN = 1000;
  function span(td, name) {
    var n = parseInt(td.getAttribute(name) || "1", 10);
    return isNaN(n) || n < 1 ? 1 : Math.min(n, MAX_SPAN);
  }
  // Rows × cells of the first table in the clipboard's HTML; null when it holds no table.
  function rowsFromHtml(html) {
    var table = new DOMParser().parseFromString(html, "text/html").querySelector("table");
    if (!table) return null;
    var count = table.rows.length, grid = [];
    for (var r = 0; r < count; r++) grid.push([]);
    Array.prototype.forEach.call(table.rows, function (tr, r) {
      var col = 0;
      Array.prototype.forEach.call(tr.cells, function (td) {
        while (grid[r][col] !== undefined) col++;
        var text = cellText(td), colspan = span(td, "colspan"), rowspan = span(td, "rowspan");
        for (var dr = 0; dr < rowspan && r + dr < count; dr++) {
          for (var dc = 0; dc < colspan; dc++) grid[r + dr][col + dc] = dc === 0 ? text : null;
        }
        col += colspan;
      });
    });
    return grid.map(function (row) {
      var out = [];
      for (var i = 0; i < row.length; i++) out.push(row[i] === undefined ? null : row[i]);
      return out;
    });
  }

  document.addEventListener("paste", function (e) {
    var cell = document.querySelector("#steps-body td.okno-cell.okno-selected");
    if (!cell || !e.clipboardData) return;
    var target = e.target;
    if (target && target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
    if (cell.querySelector("form")) return;  // an editor is open: the paste goes into it
    var row = cell.closest("tr.okno-step");
    if (!row) return;
    var html = e.clipboardData.getData("text/html");
    var text = e.clipboardData.getData("text/plain");
    var rows = html ? rowsFromHtml(html) : null;
    if (!rows && !text) return;
    e.preventDefault();
    var values = { anchor: row.dataset.step, fields: JSON.stringify(columnsFrom(cell)) };
    if (rows) values.rows = JSON.stringify(rows); else values.text = text;
    reportHolder();
    htmx.ajax("POST", url, { target: "#steps-body", swap: "outerHTML", values: values });
  });

  // A problem's link in the report also selects its cell (the grid selects the cell that gets the focus).
  document.body.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("#paste-report a[href^='#cell-']");
    var td = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!td) return;
    if (hasGrid()) td.focus({ preventScroll: true }); else select(td);
  });
})();

// Okno: the step table as a spreadsheet from the keyboard (docs/user-guide.md, "Keyboard").
// One selected cell (td.okno-cell.okno-selected, found again by step id + field after every htmx swap);
// arrows, Tab, Enter move; typing, Enter or F2 edit; Ctrl+Z undoes this page's last cell edit.
// Works on top of okno.js (which saves on Enter and cancels on Esc in a cell editor) and htmx.
//
// While something is on its way to the server (an editor being opened, a save, a new step), the keys typed
// meanwhile are kept in `queue` and replayed where they belong once it has arrived: a fast typist loses
// nothing and nothing lands in an editor that is about to be replaced. A cell chosen meanwhile (a click, the
// focus) waits in the queue too, in its place among the keys: the keys before it act where they were typed,
// those after it on the chosen cell, and the answer's move does not take the selection back.
(function () {
  "use strict";

  var script = document.currentScript;
  function text(name, fallback) { return (script && script.dataset[name]) || fallback; }

  var sel = null;        // {step, field}: the selected cell
  var tabStart = null;   // field where a run of Tabs began: Enter returns to it on the next row (as Excel does)
  var queue = null;      // keys typed while something is on its way; null when nothing is
  var opening = null;    // an editor asked for by the keyboard: {step, field, mode, entry, xhr, status}
  var pending = null;    // a save or cancel from the keyboard: {step, field, move, xhr, status}
  var adding = null;     // a step being added: {ids, field, status}
  var panelFrom = null;  // {step, field, quick}: the cell whose risk panel is open; quick: opened by typing
  var undoStack = [];    // {step, field, before, after}: cell edits saved from this page, newest last
  var unsettled = null;  // the cell whose editor has arrived but is not live yet (htmx processes it at the settle)

  function stepsBody() { return document.getElementById("steps-body"); }
  function rows() { var b = stepsBody(); return b ? Array.prototype.slice.call(b.querySelectorAll("tr.okno-step")) : []; }
  function visible(el) { return el.offsetParent !== null; }  // hidden columns (display:none) are skipped
  function cellsOf(row) { return Array.prototype.filter.call(row.querySelectorAll("td.okno-cell[data-field]"), visible); }
  function cellAt(step, field) { return document.getElementById("cell-" + step + "-" + field); }
  function keyOf(cell) {
    var row = cell && cell.closest("tr.okno-step");
    return row ? { step: row.dataset.step, field: cell.dataset.field } : null;
  }
  function isPanelCell(cell) { return cell.dataset.field === "risks" || cell.dataset.field === "rollback"; }
  function editable(cell) { return cell.hasAttribute("hx-get"); }
  function editorOf(cell) { return cell.querySelector(".okno-cell-form"); }
  function toast(message, level) {
    document.body.dispatchEvent(new CustomEvent("okno:toast", { detail: { text: message, level: level || "warning" } }));
  }
  function clean(value) { return (value || "").replace(/\r\n?/g, "\n").trim(); }
  function busy() { if (!queue) queue = []; }
  function idle() { var keys = queue || []; queue = null; return keys; }

  // --- selection ---------------------------------------------------------------------------------------

  function select(cell, focus) {
    if (!cell) return;
    document.querySelectorAll("td.okno-selected").forEach(function (old) {
      if (old !== cell) { old.classList.remove("okno-selected"); old.setAttribute("tabindex", "-1"); }
    });
    cell.classList.add("okno-selected");
    cell.setAttribute("tabindex", "0");
    sel = keyOf(cell);
    if (focus) {
      cell.focus({ preventScroll: true });
      cell.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }
  function selected() { return sel ? cellAt(sel.step, sel.field) : null; }

  function focusLost() {
    var active = document.activeElement;
    return !active || active === document.body || !document.body.contains(active);
  }

  // After any swap: mark the selected cell again; give it the focus back if a swap in the table took the focus
  // away (a swap elsewhere on the page, e.g. the sign-off matrix, leaves the focus to its own script).
  function ofTable(target) {
    if (!target || !target.id) return !target || (document.body.contains(target) && !!target.closest("#steps-table"));
    return /^(steps-body|step-|cell-|risks-)/.test(target.id) || (document.body.contains(target) && !!target.closest("#steps-table"));
  }
  function restoreAfter(e) { restore(!ofTable(e && e.detail && e.detail.target)); }
  function restore(markOnly) {
    var cell = selected();
    if (!cell) {
      if (sel && !document.getElementById("step-" + sel.step)) sel = null;  // the step is gone
      roving();
      return;
    }
    if (!cell.classList.contains("okno-selected") || cell.getAttribute("tabindex") !== "0") select(cell, false);
    if (markOnly || !focusLost()) return;
    var panel = document.querySelector("#risks-" + sel.step + " .okno-risks-form");
    if (panel) { focusPanel(panel, panelFrom ? panelFrom.field : sel.field); return; }
    var editor = editorOf(cell), field = editor && editor.querySelector("[name=value]");
    (field || cell).focus({ preventScroll: true });
  }
  // The first cell is in the page's Tab order until a cell is selected (a roving tabindex).
  function roving() {
    var first = rows()[0], cell = first && cellsOf(first)[0];
    if (cell && !document.querySelector("#steps-body td.okno-cell[tabindex='0']")) cell.setAttribute("tabindex", "0");
  }

  // --- moving ----------------------------------------------------------------------------------------------

  function neighbour(cell, move, wrap) {
    var row = cell.closest("tr.okno-step"), all = rows(), r = all.indexOf(row);
    var cells = cellsOf(row), c = cells.indexOf(cell);
    if (move === "left" || move === "right") {
      var next = cells[c + (move === "right" ? 1 : -1)];
      if (next || !wrap) return next || null;
      var other = all[r + (move === "right" ? 1 : -1)];  // Tab wraps to the next/previous row, as in Excel tables
      if (!other) return null;
      var otherCells = cellsOf(other);
      return move === "right" ? otherCells[0] : otherCells[otherCells.length - 1];
    }
    if (move === "home" || move === "end") return move === "home" ? cells[0] : cells[cells.length - 1];
    var target = move === "up" ? all[r - 1] : move === "down" ? all[r + 1] : move === "top" ? all[0] : all[all.length - 1];
    return target ? sameColumn(target, cell.dataset.field) : null;
  }
  function sameColumn(row, field) {
    var cell = cellAt(row.dataset.step, field);
    return cell && visible(cell) ? cell : cellsOf(row)[0];
  }
  // While a long plan's later rows are still arriving (#steps-more, changeplans/rows.py) no loaded row is the last.
  function isLastRow(cell) {
    var all = rows();
    return !document.getElementById("steps-more") && all[all.length - 1] === cell.closest("tr.okno-step");
  }
  function firstField() { var r = rows()[0], c = r && cellsOf(r)[0]; return c ? c.dataset.field : "name"; }

  // Tab, Shift+Tab, and Enter after an edit. Tab past the last cell of the last row adds a step (as Excel and
  // Word tables do), so does Enter that ends a row typed across with Tab; Enter after editing one cell of the
  // last row and ↓ never add one (an existing plan does not grow by accident). quiet: the focus stays.
  function go(cell, move, fromEdit, quiet) {
    var field = move === "down" && tabStart ? tabStart : cell.dataset.field;
    var inTabRun = !!tabStart;  // typing a row across: Enter at its end starts the next row
    // A new row from Tab starts in the column where this row's run of Tabs began, else in the first column.
    var start = tabStart && tabStart !== cell.dataset.field ? tabStart : firstField();
    if (move === "up" || move === "down") tabStart = null;  // Enter ends a run of Tabs
    var next = move === "down" || move === "up" ? neighbour(cell, move, false) : neighbour(cell, move, true);
    if (next && move === "down") next = sameColumn(next.closest("tr"), field);
    if (next) {
      if (next.closest("tr") !== cell.closest("tr")) tabStart = null;
      select(next, !quiet);
      return;
    }
    if (isLastRow(cell) && (move === "right" || (move === "down" && fromEdit && inTabRun))) {
      addStep(cell.closest("tr.okno-step"), move === "right" ? start : field);
    }
  }

  function addStep(row, field) {
    var button = row ? row.querySelector(".okno-insert") : document.getElementById("add-step");
    if (!button) return;
    adding = { ids: rows().map(function (r) { return r.dataset.step; }), field: field || firstField(), status: null };
    tabStart = null;
    busy();
    button.click();  // the «+» / «+ Шаг» button: the same request, and the same question on a signed plan
  }

  // --- keys on the selected cell ---------------------------------------------------------------------------

  // k: {key, shift, mod, alt}. Returns true when the key was the grid's.
  function cellKey(cell, k) {
    var moves = { ArrowUp: "up", ArrowDown: "down", ArrowLeft: "left", ArrowRight: "right", Home: "home", End: "end" };
    if (moves[k.key] && !k.alt && !k.shift) {
      var move = moves[k.key];
      if (k.mod) move = { up: "top", down: "bottom", left: "home", right: "end", home: "top", end: "bottom" }[move];
      tabStart = null;
      var next = neighbour(cell, move, false);
      if (next) select(next, true);
      return true;
    }
    if (k.key === "Tab" && !k.mod && !k.alt) {
      if (!k.shift && !tabStart) tabStart = cell.dataset.field;
      go(cell, k.shift ? "left" : "right", false);
      return true;
    }
    if (k.key === "Enter" && k.mod) {
      if (document.getElementById("add-step")) addStep(cell.closest("tr.okno-step"), "name");  // a step below
      return true;
    }
    if ((k.key === "Enter" && !k.alt) || k.key === "F2") { open(cell, "keep"); return true; }
    if ((k.key === "Delete" || k.key === "Backspace") && !k.mod && !isPanelCell(cell)) {
      if (editable(cell)) open(cell, "replace", null, [{ key: "Enter", mod: true }]);  // empty, saved at once
      return true;
    }
    if (printable(k) && editable(cell)) {
      if (isPanelCell(cell)) { openQuick(cell, k); return true; }
      open(cell, "replace", null, [k]);
      return true;
    }
    return false;
  }
  function printable(k) { return k.key.length === 1 && !k.mod && !k.alt; }

  // A cell chosen while something was on its way: kept in the queue as a key {key: "", choose: {step, field}}.
  function choice(cell) { return { key: "", choose: keyOf(cell) }; }
  function chosenElsewhere(k, cell) {
    var here = cell && keyOf(cell);
    return !!k.choose && !(here && here.step === k.choose.step && here.field === k.choose.field);
  }
  // Selects the chosen cell again; the focus stays in its editor or risk panel if it is there already.
  function choose(key) {
    var cell = cellAt(key.step, key.field);
    if (!cell) return null;
    var active = document.activeElement, panel = isPanelCell(cell) && document.getElementById("risks-" + key.step);
    var inside = !focusLost() && (cell.contains(active) || (panel && panel.contains(active)));
    var form = editorOf(cell), field = form && form.querySelector("[name=value]");
    select(cell, !inside && !field);
    if (field && !inside) field.focus();
    tabStart = null;
    return cell;
  }

  // The keys from the first cell chosen on: those before it have nowhere to go.
  function replayChosen(keys) {
    for (var i = 0; i < keys.length; i++) if (keys[i].choose) { replay(keys.slice(i)); return; }
  }

  // Keys kept while something was on its way, replayed on the cell selected now.
  function replay(keys) {
    for (var i = 0; i < keys.length; i++) {
      if (queue) { Array.prototype.push.apply(queue, keys.slice(i)); return; }  // a key started something again
      if (keys[i].choose) {
        var to = choose(keys[i].choose), form = to && editorOf(to);
        if (!to) return;  // the chosen step is gone: the keys typed on it go with it
        if (form) { replayIntoEditor(form, keys.slice(i + 1)); return; }  // typed into its open editor
        continue;
      }
      var cell = selected();
      if (!cell) return;
      if (editorOf(cell)) return;  // an editor opened by someone else's swap: do not type blind
      cellKey(cell, keys[i]);
    }
  }

  // Keys kept while a save was on its way that the server refused: they go to the editor that stayed, as if
  // typed into it (text is appended, Esc cancels, Tab/Enter save again and the rest wait for that save).
  function replayIntoEditor(form, keys) {
    var field = form.querySelector("[name=value]");
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (chosenElsewhere(k, form.closest("td.okno-cell"))) { replay(keys.slice(i)); return; }  // the editor stays
      if (k.key === "Escape") { cancel(form); return; }
      if (k.key === "Tab" && !k.mod && !k.alt) { commit(form, k.shift ? "left" : "right"); break; }
      if (k.key === "Enter" && (k.mod || !field || field.tagName !== "TEXTAREA")) {
        commit(form, k.mod ? "stay" : k.shift ? "up" : "down");
        break;
      }
      if (field && field.tagName !== "SELECT" && printable(k)) field.value += k.key;
    }
    if (queue && i < keys.length) Array.prototype.push.apply(queue, keys.slice(i + 1));
  }

  // --- editing ---------------------------------------------------------------------------------------------

  function open(cell, mode, entry, keys) {
    if (!editable(cell)) return;
    var key = keyOf(cell);
    if (isPanelCell(cell)) { panelFrom = key; cell.click(); return; }
    var form = editorOf(cell);
    if (form) { var f = form.querySelector("[name=value]"); if (f) f.focus(); return; }
    opening = { step: key.step, field: key.field, mode: mode, entry: entry || null, xhr: null, status: null };
    busy();
    Array.prototype.push.apply(queue, keys || []);
    cell.click();  // the cell's own hx-get: the editor arrives in it
  }

  // A save or cancel from the keyboard (a cell editor or a risk panel). Until its answer has settled, the keys
  // typed wait in the queue: after the swap the cell has the focus again, but the move comes at the settle.
  function saving(key, move, panel) {
    pending = { step: key.step, field: key.field, move: move, xhr: null, status: null, panel: panel || null };
    busy();
  }
  function commit(form, move) {
    var key = keyOf(form.closest("td.okno-cell"));
    if (!key) return;
    saving(key, move);
    htmx.trigger(form, "submit");
  }
  function cancel(form) {
    var key = keyOf(form.closest("td.okno-cell")), button = form.querySelector(".okno-cell-cancel");
    if (!key || !button) return;
    saving(key, "stay");
    button.click();
  }

  // The editor has arrived in its cell (htmx:afterSwap). What was typed before it came goes in now, so that
  // keys typed from here on land after it; a Tab, Enter or Esc among those keys must wait for htmx's settle
  // (the form is live only then): it stays in the queue with the keys after it.
  function typeInto(cell) {
    var job = opening, form = editorOf(cell), field = form && form.querySelector("[name=value]");
    if (!field || job.mode === "undo") return;
    var keys = queue || [], isSelect = field.tagName === "SELECT";
    if (job.mode === "replace") { if (isSelect) field.dataset.oknoTyped = ""; else field.value = ""; }
    field.focus();
    var rest = typeKeys(field, keys);
    queue = rest.length ? rest : null;
    finishTyping(field);
  }
  // Types the text keys into `field`; returns the keys from the first Tab, Enter (that is not a line break), Esc
  // or another cell chosen.
  function typeKeys(field, keys) {
    var isSelect = field.tagName === "SELECT", cell = field.closest("td.okno-cell");
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (chosenElsewhere(k, cell)) return keys.slice(i);
      if (printable(k)) {
        if (isSelect) typeAhead(field, k.key); else field.value += k.key;
      } else if (k.key === "Backspace") {
        if (!isSelect) field.value = field.value.slice(0, -1);
      } else if (k.key === "Enter" && !k.mod && field.tagName === "TEXTAREA") {
        field.value += "\n";
      } else if (k.key === "Escape" || k.key === "Enter" || k.key === "Tab") {
        return keys.slice(i);
      }
    }
    return [];
  }
  // After the settle: the keys still waiting (from a Tab, Enter or Esc on) save or cancel the editor; the keys
  // after that wait for the move.
  function editorLive(cell, fieldName) {
    var form = editorOf(cell), field = form && form.querySelector("[name=value]");
    var keys = idle();
    if (!field || !keys.length) return;
    var rest = typeKeys(field, keys);
    finishTyping(field);
    var k = rest[0];
    if (!k) return;
    if (k.choose) { replay(rest); return; }  // another cell chosen: this editor stays open as it is
    queue = rest.slice(1);
    if (k.key === "Escape") { cancel(form); return; }
    commit(form, k.mod ? "stay" : k.key === "Tab" ? (k.shift ? "left" : "right") : (k.shift ? "up" : "down"));
    if (k.key === "Tab" && !k.shift && !tabStart) tabStart = fieldName;
  }
  function finishTyping(field) {
    if (field.tagName === "SELECT") return;
    try { field.setSelectionRange(field.value.length, field.value.length); } catch (_) { /* not a text field */ }
    field.dispatchEvent(new Event("input", { bubbles: true }));  // text areas grow with their text (okno.js)
  }
  function typeAhead(select, typed) {
    select.dataset.oknoTyped = (select.dataset.oknoTyped || "") + typed;
    var prefix = select.dataset.oknoTyped.toLowerCase();
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].text.toLowerCase().indexOf(prefix) === 0) { select.selectedIndex = i; return; }
    }
  }

  // --- undo --------------------------------------------------------------------------------------------------
  // A saved cell edit answers with the header Okno-Cell-Edit (changeplans/undo.py). Ctrl+Z opens that cell's
  // editor, checks that the cell still holds what this page saved, and saves the value it had before with
  // `original` = the value after: the server refuses it as a conflict if someone changed the cell in between.
  // The undo is a new edit in the history.

  function undo() {
    var entry = undoStack.pop();
    if (!entry) { toast(text("textNothingToUndo", "Nothing to undo."), "info"); return; }
    var cell = cellAt(entry.step, entry.field);
    if (!cell || !editable(cell)) { toast(text("textUndoGone", "Cannot undo: the step is gone or cannot be edited."), "warning"); return; }
    select(cell, true);
    var editor = editorOf(cell);
    if (editor) {  // an editor is open in that cell: it comes first
      undoStack.push(entry);
      var field = editor.querySelector("[name=value]");
      if (field) field.focus();
      return;
    }
    open(cell, "undo", entry);
  }
  function undoInEditor(form, field, entry, keys) {
    var original = form.querySelector("[name=original]");
    queue = keys;
    if (!original || clean(original.value) !== entry.after) {
      var now = original ? clean(original.value) || "—" : "—";
      toast(text("textUndoConflict", "Cannot undo: this cell was changed after your edit. Its value now:") + " " + now, "warning");
      cancel(form);
      return;
    }
    field.value = entry.before;
    form.dataset.oknoUndo = "1";
    var mark = document.createElement("input");  // the history says it is an undo
    mark.type = "hidden"; mark.name = "undo"; mark.value = "1";
    form.appendChild(mark);
    commit(form, "stay");
  }

  // --- the risk panel ----------------------------------------------------------------------------------------

  function focusPanel(form, field) {
    var target = form.querySelector(".is-invalid");
    var error = !target && form.querySelector(".invalid-feedback, .alert-danger");
    if (error) target = (error.closest(".okno-formset-row") || form).querySelector("input:not([type=hidden]), textarea, select");
    if (!target) {
      var prefix = field === "rollback" ? "action" : "risk";
      var list = form.querySelector(".okno-formset[data-prefix=" + prefix + "]");
      target = list && list.firstElementChild ? rowField(list.firstElementChild) : form.querySelector(".okno-add-form[data-prefix=" + prefix + "]");
    }
    if (target) target.focus();
  }
  function rowField(row) {
    return row && row.querySelector(row.closest("[data-prefix=action]") ? "input:not([type=hidden])" : "textarea");
  }
  function panelField(form) {
    var step = form.parentElement.id.split("-")[1];
    return { step: step, field: panelFrom && panelFrom.step === step ? panelFrom.field : "risks" };
  }
  function closePanel(form) {
    var key = panelField(form);
    form.parentElement.innerHTML = "";
    panelFrom = null;
    select(cellAt(key.step, key.field), true);
  }
  // Enter in a risk's or an action's text goes to the next row of its list (a new one after the last);
  // Shift+Enter is a line break.
  function nextPanelRow(textarea) {
    var row = textarea.closest(".okno-formset-row"), list = row.closest(".okno-formset");
    var next = row.nextElementSibling;
    if (!next) {
      var add = list.parentElement.querySelector(".okno-add-form[data-prefix=" + list.dataset.prefix + "]");
      if (!add) return;
      add.click();  // okno.js adds the row; the click handler below focuses it
      return;
    }
    var target = rowField(next);
    if (target) target.focus();
  }

  // Typing on the risks or the rollback cell: the panel opens with a new row whose text gets what is typed,
  // one line a risk or an action ("5/6/7/8. Text" ties an action to its risks, as the cell shows it; "нет"
  // alone is "no rollback needed"). Tab or Enter saves the panel and moves like a cell; Shift+Enter is a new line.
  function openQuick(cell, k) {
    panelFrom = keyOf(cell);
    panelFrom.quick = true;
    busy();
    queue.push(k);
    cell.click();
  }
  function quickArrived(form) {
    var prefix = panelFrom.field === "rollback" ? "action" : "risk";
    var add = form.querySelector(".okno-add-form[data-prefix=" + prefix + "]");
    var list = form.querySelector(".okno-formset[data-prefix=" + prefix + "]");
    var keys = idle();
    if (!add || !list) return;
    add.click();
    var area = list.lastElementChild && list.lastElementChild.querySelector("textarea");
    if (!area) return;
    area.classList.add("okno-quick");
    area.focus();
    for (var i = 0; i < keys.length; i++) {
      var k = keys[i];
      if (chosenElsewhere(k, cellAt(panelFrom.step, panelFrom.field))) {  // the panel stays open with the text
        area.dispatchEvent(new Event("input", { bubbles: true }));
        replay(keys.slice(i));
        return;
      }
      if (printable(k)) area.value += k.key;
      else if (k.key === "Backspace") area.value = area.value.slice(0, -1);
      else if (k.key === "Enter" && k.shift) area.value += "\n";
      else if (k.key === "Escape") { closePanel(form); return; }
      else if (k.key === "Enter" || k.key === "Tab") {
        queue = keys.slice(i + 1);
        commitQuick(form, area, quickMove(k));
        return;
      }
    }
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }
  function quickMove(k) {
    if (k.key === "Tab") return k.shift ? "left" : "right";
    return k.mod ? "stay" : "down";
  }
  function commitQuick(form, area, move) {
    var rollback = panelFrom && panelFrom.field === "rollback";
    var lines = area.value.split("\n").map(function (l) { return l.trim(); }).filter(Boolean);
    var row = area.closest(".okno-formset-row"), list = row.parentElement;
    var add = form.querySelector(".okno-add-form[data-prefix=" + list.dataset.prefix + "]");
    var none = form.querySelector("[name=no_rollback_needed]");
    if (lines.length === 1 && /^(нет|-|—|no|none)\.?$/i.test(lines[0])) {  // "нет" is no risk, no rollback
      area.value = "";
      var drop = row.querySelector("input[name$=-DELETE]");
      if (drop) drop.checked = true;  // the row added for the typing goes (its risk number alone would be refused)
      if (rollback && none) none.checked = true;
      lines = [];
    }
    lines.forEach(function (line, i) {
      if (i > 0) { add.click(); row = list.lastElementChild; }
      var numbered = rollback ? /^(\d+(?:\s*[\/,]\s*\d+)*)[.)]\s+(.+)$/.exec(line) : /^(\d+)[.)]\s+(.+)$/.exec(line);
      var textField = row.querySelector("textarea");
      textField.value = numbered ? numbered[2] : line;
      if (numbered) {
        var numbers = row.querySelector(rollback ? "input[name$=-risk_numbers]" : "input[name$=-number]");
        if (numbers) numbers.value = numbered[1].replace(/\s+/g, "");
      }
      if (rollback && none) none.checked = false;
    });
    saving(panelField(form), move, form);
    htmx.trigger(form, "submit");
  }

  // --- key events --------------------------------------------------------------------------------------------

  function described(e) { return { key: e.key, shift: e.shiftKey, mod: e.ctrlKey || e.metaKey, alt: e.altKey }; }
  function typingTarget(el) { return el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON|A)$/.test(el.tagName)); }
  var KEPT = ["Enter", "Tab", "Escape", "Backspace", "Delete", "F2", "ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End"];

  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.isComposing || /^(Shift|Control|Alt|Meta)$/.test(e.key)) return;
    var target = e.target, k = described(e);

    // 0. Something is on its way: keep the keys meant for the table.
    var inPanel = target.closest && target.closest(".okno-risks-form");
    if (queue && (target === document.body || (target.closest && target.closest("#steps-body") && (!inPanel || (pending && pending.panel))))) {
      if (printable(k) || KEPT.indexOf(k.key) >= 0) { e.preventDefault(); e.stopPropagation(); queue.push(k); }
      return;
    }

    // 1. Inside a cell editor (captured before okno.js, which saves on Enter and cancels on Esc).
    var form = target.closest && target.closest(".okno-cell-form");
    if (form && unsettled && unsettled.contains(form) && target.name === "value" && !k.alt
        && (k.key === "Tab" || k.key === "Escape" || (k.key === "Enter" && (k.mod || target.tagName !== "TEXTAREA")))) {
      e.preventDefault();  // the form is not live yet: the key waits for htmx's settle
      e.stopPropagation();
      busy();
      queue.push(k);
      return;
    }
    if (form) {
      if (target.name !== "value" || form.querySelector(".okno-confirm-reset")) return;  // its buttons, the question
      var here = form.closest("td.okno-cell");
      // Handled here, so okno.js (on the body) does not save or cancel a second time.
      if (target.tagName === "SELECT" && printable(k)) {  // one type-ahead for the keys kept and those typed now
        e.preventDefault();
        typeAhead(target, k.key);
      } else if (k.key === "Tab" && !k.mod && !k.alt) {
        e.preventDefault();
        e.stopPropagation();
        if (!k.shift && !tabStart) tabStart = here.dataset.field;
        commit(form, k.shift ? "left" : "right");
      } else if (k.key === "Enter" && (k.mod || target.tagName !== "TEXTAREA")) {
        e.preventDefault();
        e.stopPropagation();
        commit(form, k.mod ? "stay" : k.shift ? "up" : "down");
      } else if (k.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        cancel(form);
      }
      return;
    }

    // 2. Inside a risk panel.
    var panel = target.closest && target.closest(".okno-risks-form");
    if (panel) {
      if (target.classList.contains("okno-quick") && (k.key === "Tab" || (k.key === "Enter" && !k.shift)) && !k.alt) {
        e.preventDefault();
        commitQuick(panel, target, quickMove(k));
        return;
      }
      if (k.key === "Escape") { e.preventDefault(); closePanel(panel); }
      else if (k.key === "Enter" && k.mod) {
        e.preventDefault();
        saving(panelField(panel), "stay", panel);
        htmx.trigger(panel, "submit");
      } else if (k.key === "Enter" && !k.shift && target.tagName === "TEXTAREA" && target.closest(".okno-formset")) {
        e.preventDefault();
        nextPanelRow(target);
      } else if (k.key === "Enter" && target.tagName === "INPUT" && target.closest(".okno-formset-row")) {
        e.preventDefault();  // not the form's implicit submission: on to the row's text
        var area = target.closest(".okno-formset-row").querySelector("textarea");
        if (area) area.focus();
      }
      return;
    }

    // 3. Ctrl+Z outside a field: undo this page's last cell edit.
    if (k.mod && !k.alt && !k.shift && /^[zZяЯ]$/.test(k.key) && !typingTarget(target)) {
      e.preventDefault();
      undo();
      return;
    }

    // 4. On a cell of the table.
    var cell = target.matches && target.matches("#steps-body td.okno-cell[data-field]") ? target : null;
    if (cell) {
      if (cell !== selected()) select(cell, false);
      adding = null;
      if (cellKey(cell, k)) e.preventDefault();
      return;
    }

    // 5. Ctrl+Enter on the page, outside any field: add a step at the end («+ Шаг»).
    if (k.mod && k.key === "Enter" && !typingTarget(target) && document.getElementById("add-step")) {
      e.preventDefault();
      var all = rows();
      addStep(all[all.length - 1] || null, "name");
    }
  }, true);

  // A click or the focus on a cell selects it. While something is on its way the choice also waits in the queue:
  // the answer's move must not take the selection back, and the keys typed from now on are this cell's. (Only
  // the focus on the cell itself: htmx gives the focus back after a swap by id, and every editor's field has
  // the same id, so the focus landing in another cell's open editor may be htmx's, not the person's.)
  document.addEventListener("focusin", function (e) {
    var cell = e.target.closest && e.target.closest("#steps-body td.okno-cell[data-field]");
    if (cell && cell !== selected()) {
      select(cell, false);
      tabStart = null;
      if (queue && e.target === cell) queue.push(choice(cell));
    }
  });
  document.addEventListener("click", function (e) {
    // «+ Риск» / «+ Действие» (okno.js has added the row): on to the new row's text.
    var add = e.target.closest && e.target.closest(".okno-risks-form .okno-add-form");
    if (add) {
      var list = add.parentElement.querySelector(".okno-formset[data-prefix=" + add.dataset.prefix + "]");
      var target = list && rowField(list.lastElementChild);
      if (target) target.focus();
      return;
    }
    var cell = e.target.closest && e.target.closest("#steps-body td.okno-cell[data-field]");
    // (While the step is on its way the choice waits in the queue instead: the keys must not stay kept.)
    if (cell && e.isTrusted) { if (!queue) adding = null; if (isPanelCell(cell)) panelFrom = keyOf(cell); }
  });
  // Another script (the plan check's links, lint.js) selects a cell through the grid.
  document.addEventListener("okno:select-cell", function (e) {
    if (!e.detail || !e.detail.cell) return;
    e.preventDefault();
    var chosen = queue && e.detail.cell !== selected() && keyOf(e.detail.cell) && e.detail.cell.dataset.field;
    select(e.detail.cell, true);
    if (chosen) queue.push(choice(e.detail.cell));
  });

  // --- htmx --------------------------------------------------------------------------------------------------

  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail.elt, xhr = e.detail.xhr;
    if (opening && !opening.xhr && elt === cellAt(opening.step, opening.field)) opening.xhr = xhr;
    if (pending && !pending.xhr) {
      var owner = pending.panel || cellAt(pending.step, pending.field);
      if (owner && owner.contains(elt)) pending.xhr = xhr;
    }
    // A cell save: its `original` is the value before, its value what was typed (the undo stack's entry).
    var form = elt.closest && elt.closest(".okno-cell-form");
    var verb = e.detail.requestConfig && e.detail.requestConfig.verb;
    if (!form || (verb && verb !== "post")) return;
    var key = keyOf(form.closest("td.okno-cell"));
    var original = form.querySelector("[name=original]"), value = form.querySelector("[name=value]");
    if (key && original && value) {
      xhr.oknoEdit = { step: key.step, field: key.field, before: clean(original.value), value: clean(value.value), undo: form.dataset.oknoUndo === "1" };
    }
  });

  document.addEventListener("htmx:afterRequest", function (e) {
    var xhr = e.detail.xhr, status = xhr.status;
    var edit = xhr.oknoEdit, header = status === 200 ? xhr.getResponseHeader("Okno-Cell-Edit") : null;
    if (edit && header && !edit.undo) {
      try {
        var saved = JSON.parse(header);
        var after = typeof saved.after === "string" ? saved.after : edit.value;
        if (after !== edit.before) undoStack.push({ step: String(saved.step), field: saved.field, before: edit.before, after: after });
      } catch (_) { /* a malformed header: no undo for this edit */ }
    }
    if (edit && edit.undo && status === 409) toast(text("textUndoRefused", "Cannot undo: someone changed this cell after your edit."), "warning");
    if (opening && opening.xhr === xhr) {
      opening.status = status;
      if (status !== 200) { opening = null; replayChosen(idle()); }
    }
    // An answer that is not swapped (a refusal, a server error, no network) never settles: the grid is not busy
    // any more; the keys kept meanwhile go, as after any refused save (but those typed on a cell chosen since).
    var swapped = !!xhr.oknoSwapped;
    if (pending && pending.xhr === xhr) {
      pending.status = status;
      if (!swapped) { pending = null; var kept = idle(); restore(); replayChosen(kept); }
    }
    var path = e.detail.requestConfig && e.detail.requestConfig.path;
    if (adding && path && /\/steps\/add\/$/.test(path)) {
      adding.status = status;
      if (!swapped) { adding = null; replayChosen(idle()); }
    }
  });
  // On the document, after every other script's say on the body (okno.js swaps 409 and 422 answers too).
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.shouldSwap && !e.defaultPrevented && e.detail.xhr) e.detail.xhr.oknoSwapped = true;
  });

  // After htmx's settle the new content is live (hx- attributes processed): finish what was waiting for it.
  document.addEventListener("htmx:afterSettle", function (e) {
    var target = e.detail.target;
    restoreAfter(e);
    if (target && target === unsettled) {
      unsettled = null;
      var job = opening && target === cellAt(opening.step, opening.field) ? opening : null;
      var here = keyOf(target);
      if (job) opening = null;
      if (job && job.mode === "undo") {
        var editor = editorOf(target);
        if (editor) undoInEditor(editor, editor.querySelector("[name=value]"), job.entry, idle());
      } else if (here && !pending) {
        editorLive(target, here.field);
      }
    }
    if (pending && pending.status !== null) {
      var save = pending, cell = cellAt(save.step, save.field), keys = idle();
      var quiet = keys.some(function (k) { return !!k.choose; });  // a cell chosen since: it keeps the focus
      pending = null;
      if (save.status !== 200) {  // the editor stays with the reason; nothing moves
        restore();
        var refused = cell && editorOf(cell);
        if (refused) replayIntoEditor(refused, keys);  // keys typed once the reason showed: not lost
        else replayChosen(keys);
      }
      else if (cell) {
        if (save.move === "stay") select(cell, !quiet); else go(cell, save.move, true, quiet);
        replay(keys);
      }
      else replayChosen(keys);
    }
    if (adding && adding.status !== null) {
      var status = adding.status;
      adding.status = null;
      if (status === 200) {
        var fresh = rows().filter(function (r) { return adding.ids.indexOf(r.dataset.step) < 0; });
        if (fresh.length === 1) {
          var field = adding.field, kept = idle();
          adding = null;
          select(sameColumn(fresh[0], field), !kept.some(function (k) { return !!k.choose; }));
          replay(kept);
        }
      } else {
        idle();
        var yes = document.querySelector("#steps-table .okno-confirm-reset-yes, .card-header .okno-confirm-reset-yes");
        if (status === 409 && yes) yes.focus();  // "this change resets N signatures": Enter confirms
        else adding = null;
      }
    }
    if (target && target.id && target.id.indexOf("risks-") === 0) {
      var form = target.querySelector(".okno-risks-form");
      if (form && panelFrom && panelFrom.step === target.id.split("-")[1]) {
        if (panelFrom.quick && queue) { panelFrom.quick = false; quickArrived(form); }
        else if (focusLost() || document.activeElement.matches("td.okno-cell")) focusPanel(form, panelFrom.field);
      }
    }
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target && target.matches && target.matches("td.okno-cell") && editorOf(target)) {
      unsettled = target;
      if (opening && target === cellAt(opening.step, opening.field)) typeInto(target);
    }
    restoreAfter(e);
  });
  document.addEventListener("htmx:oobAfterSwap", restoreAfter);

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", roving); else roving();
})();

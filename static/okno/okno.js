// Okno: small behaviours on top of htmx — toasts, keyboard shortcuts in cells, formset rows.
(function () {
  "use strict";

  // At most MAX_TOASTS at once (the oldest goes); a page may dock them in its own layout ([data-toast-dock],
  // the board: there they cover none of its parts).
  var MAX_TOASTS = 3;
  function toast(text, level) {
    var box = document.querySelector("[data-toast-dock]") || document.getElementById("okno-toasts");
    if (!box) return;
    while (box.children.length >= MAX_TOASTS) box.removeChild(box.firstElementChild);
    var el = document.createElement("div");
    el.className = "toast align-items-center border-0 text-bg-" + (level || "success");
    el.setAttribute("role", "status");
    el.innerHTML = '<div class="d-flex"><div class="toast-body"></div><button type="button" class="btn-close btn-close-white me-2 m-auto" data-bs-dismiss="toast"></button></div>';
    el.querySelector(".toast-body").textContent = text;
    box.appendChild(el);
    var t = new bootstrap.Toast(el, { delay: level === "danger" ? 8000 : 3000 });
    el.addEventListener("hidden.bs.toast", function () { el.remove(); });
    t.show();
  }
  document.body.addEventListener("okno:toast", function (e) { toast(e.detail.text, e.detail.level); });

  // Errors from the server that come without a fragment (e.g. 500) still reach the user.
  document.body.addEventListener("htmx:responseError", function (e) {
    var status = e.detail.xhr.status;
    if (status >= 500) toast(document.documentElement.lang === "en" ? "Server error: nothing was saved, try again." : "Ошибка сервера: изменения не сохранены, повторите.", "danger");
  });
  // Validation errors (422) and conflicts (409) carry a fragment: swap it in.
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var status = e.detail.xhr.status;
    if (status === 422 || status === 409) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });

  // A save answers with the changed rows only (#step-<id>, and out of band the rows whose derived start or
  // warnings changed); add, delete and move answer with the whole #steps-body. Editors open in a swapped
  // row or table (other cells, risk panels) survive with what was typed in them: nothing typed is lost.
  var preserved = [], trigger = null;
  function fieldValues(form) {
    return Array.prototype.map.call(form.elements, function (el) {
      return { name: el.name, value: el.value, checked: el.checked };
    });
  }
  function keepEditors(target) {
    if (!target || !target.closest || !(target.id === "steps-body" || target.closest("#steps-body"))) return;
    target.querySelectorAll(".okno-cell-form, .okno-risks-form").forEach(function (form) {
      if (trigger && (form === trigger || form.contains(trigger))) return;  // the form being saved
      var holder = form.parentElement;
      var stepId = holder.id.split("-")[1];
      var row = document.getElementById("step-" + stepId);
      preserved.push({ holder: holder.id, stepId: stepId, html: form.outerHTML, values: fieldValues(form),
                       revision: row ? row.dataset.revision : null });
    });
  }
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    preserved = [];
    trigger = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (e.detail.shouldSwap) keepEditors(e.detail.target);
  });
  // Out-of-band parts are swapped after htmx:beforeSwap and before the main part and htmx:afterSwap.
  document.body.addEventListener("htmx:oobBeforeSwap", function (e) {
    if (e.detail.shouldSwap) keepEditors(e.detail.target);
  });
  document.body.addEventListener("htmx:afterSwap", function () {
    if (!preserved.length) return;
    var kept = preserved;
    preserved = [];
    kept.forEach(function (item) {
      var holder = document.getElementById(item.holder);
      if (!holder || holder.querySelector("form")) return;  // the step is gone, or its editor is still there
      holder.innerHTML = item.html;
      var form = holder.querySelector("form");
      item.values.forEach(function (v, i) {
        var el = form.elements[i];
        if (!el || el.name !== v.name) return;
        if (el.type === "checkbox" || el.type === "radio") el.checked = v.checked; else el.value = v.value;
      });
      // Our own save moved the step's revision: a panel opened at the old one is still current.
      var row = document.getElementById("step-" + item.stepId);
      var revision = form.querySelector("[name=revision]");
      if (row && revision && item.revision && revision.value === item.revision) revision.value = row.dataset.revision;
      htmx.process(holder);
    });
  });

  // A click inside a cell's open editor (its fields, Save, Cancel) must not ask for the editor again.
  // Done here rather than with an hx-trigger filter, which needs eval (forbidden by the policy).
  document.body.addEventListener("htmx:confirm", function (e) {
    var ev = e.detail.triggeringEvent, elt = e.detail.elt;
    if (ev && ev.type === "click" && elt.matches("td.okno-cell") && ev.target.closest && ev.target.closest("form")) e.preventDefault();
  });

  // Text areas in cells grow with their text, up to most of the screen.
  function fitTextarea(area) {
    area.style.height = "auto";
    area.style.height = Math.min(area.scrollHeight + 4, window.innerHeight * 0.7) + "px";
  }
  document.body.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches(".okno-cell-form textarea")) fitTextarea(e.target);
  });

  // In a cell editor: Enter saves a one-line input, Ctrl+Enter saves a text area, Escape cancels.
  document.body.addEventListener("keydown", function (e) {
    var form = e.target.closest && e.target.closest(".okno-cell-form");
    if (!form) return;
    if (e.key === "Escape") { e.preventDefault(); form.querySelector(".okno-cell-cancel").click(); }
    else if (e.key === "Enter" && (e.target.tagName !== "TEXTAREA" || e.ctrlKey || e.metaKey)) {
      e.preventDefault(); htmx.trigger(form, "submit");
    }
  });

  // Focus the editor that htmx has just put into a cell.
  document.body.addEventListener("htmx:afterSwap", function (e) {
    var field = e.detail.target.querySelector && e.detail.target.querySelector(".okno-cell-form [name=value]");
    if (field && field.tagName === "TEXTAREA") fitTextarea(field);
    // preventScroll: the cell is in view (clicked or selected); scrolling would force a layout of the whole table.
    if (field) { field.focus({ preventScroll: true }); if (field.select && field.type !== "date" && field.type !== "time") { try { field.setSelectionRange(field.value.length, field.value.length); } catch (_) {} } }
  });

  // No inline handlers (the Content-Security-Policy forbids them): behaviour comes from data attributes
  // (data-okno-confirm: confirm.js). data-okno-close="selector": empties the nearest enclosing element
  // that matches (closes a panel).
  document.body.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-okno-close]");
    if (!el) return;
    var holder = el.closest(el.dataset.oknoClose);
    if (holder) holder.innerHTML = "";
  });

  // Formsets: "+" clones the empty form with the next index.
  document.body.addEventListener("click", function (e) {
    var btn = e.target.closest(".okno-add-form");
    if (!btn) return;
    var prefix = btn.dataset.prefix, scope = btn.parentElement;
    var total = scope.querySelector("#id_" + prefix + "-TOTAL_FORMS");
    var tpl = scope.querySelector("template.okno-empty-form");
    var index = parseInt(total.value, 10);
    var html = tpl.innerHTML.replace(/__prefix__/g, index);
    scope.querySelector(".okno-formset").insertAdjacentHTML("beforeend", html);
    total.value = index + 1;
    var number = scope.querySelector("[name=" + prefix + "-" + index + "-number]");
    if (number) {
      var max = 0;
      scope.querySelectorAll("input[name$=-number]").forEach(function (i) { max = Math.max(max, parseInt(i.value || "0", 10)); });
      number.value = max + 1;
    }
  });

  // Drag a step by its number cell to reorder; the server gets the whole new order.
  var dragged = null;
  document.body.addEventListener("dragstart", function (e) {
    var cell = e.target.closest && e.target.closest("#steps-body td[draggable=true]");
    if (!cell) return;
    dragged = cell.closest("tr.okno-step");
    dragged.classList.add("okno-dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged.dataset.step);
  });
  document.body.addEventListener("dragover", function (e) {
    if (!dragged) return;
    var row = e.target.closest && e.target.closest("#steps-body tr.okno-step");
    if (!row || row === dragged) return;
    e.preventDefault();
    var after = (e.clientY - row.getBoundingClientRect().top) > row.offsetHeight / 2;
    var anchor = after ? row.nextElementSibling.nextElementSibling : row;  // skip the row's risk panel
    var panel = dragged.nextElementSibling;
    row.parentNode.insertBefore(dragged, anchor);
    dragged.parentNode.insertBefore(panel, dragged.nextElementSibling);
  });
  document.body.addEventListener("dragend", function () {
    if (!dragged) return;
    var body = dragged.closest("tbody");
    dragged.classList.remove("okno-dragging");
    dragged = null;
    var ids = Array.prototype.map.call(body.querySelectorAll("tr.okno-step"), function (r) { return r.dataset.step; });
    htmx.ajax("POST", body.dataset.reorderUrl, { target: "#steps-body", swap: "outerHTML", values: { step: ids } });
  });
})();

// The step table's column chooser (templates/changeplans/inc/column_chooser.html): ticking a column
// shows or hides it at once (a class okno-hide-<field> on the table, see okno.css) and saves the choice
// for the user. The server refuses an unknown column or hiding them all: the column comes back and the
// reason is shown. Without this script the chooser is a plain form with an "Apply" button.
(function () {
  "use strict";

  function failed(status) {
    var ru = document.documentElement.lang !== "en";
    var text = ru ? "Столбцы не сохранены" : "Columns were not saved";
    if (status) return text + (ru ? " (ошибка " : " (error ") + status + ").";
    return text + (ru ? ": нет связи с сервером." : ": the server cannot be reached.");
  }

  function setup(chooser) {
    var form = chooser.querySelector("form[data-okno-columns]");
    var table = form && document.querySelector(form.dataset.oknoColumns);
    if (!table) return;
    var error = form.querySelector(".okno-columns-error");
    var counter = chooser.querySelector(".okno-columns-hidden");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=shown]"));
    var saved = boxes.map(function (box) { return box.checked; });  // as the server last confirmed
    var queue = Promise.resolve();
    form.classList.add("okno-columns-live");

    function apply(states) {
      var hidden = 0;
      boxes.forEach(function (box, i) {
        box.checked = states[i];
        table.classList.toggle("okno-hide-" + box.value, !states[i]);
        if (!states[i]) hidden++;
      });
      if (counter) { counter.textContent = hidden ? String(hidden) : ""; counter.hidden = !hidden; }
    }

    // Saves run one after another, so the last choice is the one kept even on a slow link.
    function save() {
      var states = boxes.map(function (box) { return box.checked; });
      apply(states);
      error.textContent = "";
      var body = new FormData(form);
      queue = queue.then(function () {
        return fetch(form.action, {
          method: "POST", body: body, credentials: "same-origin",
          headers: { "Accept": "application/json", "X-CSRFToken": body.get("csrfmiddlewaretoken") }
        }).then(function (response) {
          return response.json().catch(function () { return {}; }).then(function (data) {
            if (!response.ok) throw new Error(data.error || failed(response.status));
            saved = states;
          });
        }).catch(function (exc) {
          // Back to what the server holds, with the reason next to the boxes (a lost connection included).
          apply(saved);
          error.textContent = exc instanceof TypeError ? failed(0) : exc.message;
        });
      });
    }

    form.addEventListener("change", function (e) { if (e.target.name === "shown") save(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
    form.querySelector(".okno-columns-all").addEventListener("click", function () {
      boxes.forEach(function (box) { box.checked = true; });
      save();
    });

    // The chooser closes with Esc and with a click elsewhere, like a menu.
    document.addEventListener("click", function (e) {
      if (chooser.open && !chooser.contains(e.target)) chooser.open = false;
    });
    chooser.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && chooser.open) {
        e.stopPropagation();
        chooser.open = false;
        chooser.querySelector("summary").focus();
      }
    });
  }

  document.querySelectorAll("details.okno-columns").forEach(setup);
})();

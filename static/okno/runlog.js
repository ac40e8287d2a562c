// Okno: live output of automation runs. Each <pre data-run data-stream> gets the run's lines from its
// Server-Sent Events stream; lines are kept per run, so a board refresh that replaces the <pre> loses nothing.
(function () {
  "use strict";
  var runs = {};  // run id → {lines: [], source: EventSource|null, ended: bool}

  function paint(pre, state) {
    var atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    pre.textContent = state.lines.join("\n");
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  }
  function targets(id) { return document.querySelectorAll('pre[data-run="' + id + '"]'); }

  function attach(pre) {
    var id = pre.dataset.run;
    var state = runs[id];
    if (!state) {
      state = runs[id] = { lines: [], source: null, ended: false, last: 0 };
      var after = parseInt(pre.dataset.after || "0", 10);
      if (after) { state.last = after; state.lines = pre.textContent ? pre.textContent.split("\n") : []; }
    }
    paint(pre, state);
    if (state.source || state.ended) return;
    var url = pre.dataset.stream + (state.last ? "?after=" + state.last : "");
    var source = state.source = new EventSource(url);
    source.addEventListener("line", function (e) {
      var data = JSON.parse(e.data);
      if (data.seq <= state.last) return;
      state.last = data.seq;
      state.lines.push(data.text);
      targets(id).forEach(function (el) { paint(el, state); });
    });
    source.addEventListener("end", function (e) {
      var data = JSON.parse(e.data);
      state.ended = true;
      source.close();
      state.source = null;
      document.querySelectorAll('[data-run-end="' + id + '"]').forEach(function (el) {
        el.textContent = data.label + (data.summary ? " — " + data.summary : "");
      });
      document.body.dispatchEvent(new CustomEvent("okno:run-ended", { detail: { run: id, status: data.status } }));
    });
  }
  function scan() { document.querySelectorAll("pre[data-run][data-stream]").forEach(attach); }
  document.addEventListener("DOMContentLoaded", scan);
  document.body && document.body.addEventListener("htmx:afterSettle", scan);
  document.addEventListener("okno:board-updated", scan);  // board.js puts its refreshes on the page itself
  if (document.readyState !== "loading") scan();
})();

// Okno execution board: running timers, live refresh on plan events, and typed text kept across refreshes.
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) return;
  var boardUrl = board.dataset.boardUrl;

  // Timers of steps in progress: elapsed time since the actual start; red past the maximum duration.
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tickTimers() {
    var now = Date.now();
    document.querySelectorAll(".okno-timer[data-started]").forEach(function (el) {
      var started = Date.parse(el.dataset.started);
      if (isNaN(started)) return;
      var seconds = Math.max(0, Math.floor((now - started) / 1000));
      var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(s);
      var max = parseInt(el.dataset.maxMinutes, 10);
      el.classList.toggle("okno-over", !isNaN(max) && seconds > max * 60);
    });
  }
  tickTimers();
  setInterval(tickTimers, 1000);

  // What the user is typing in the board's forms survives a refresh of the part holding them
  // (someone else's tick re-renders the steps). The form that was submitted is not restored.
  var kept = {};
  function collect(root, except) {
    var values = {};
    root.querySelectorAll("form[data-keep]").forEach(function (form) {
      if (except && (form === except || form.contains(except))) return;
      var fields = {}, any = false;
      form.querySelectorAll("input[type=text], textarea").forEach(function (el) {
        if (el.name && el.value) { fields[el.name] = el.value; any = true; }
      });
      var details = form.closest("details");
      if (any || (details && details.open)) values[form.dataset.keep] = { fields: fields, open: !!(details && details.open) };
    });
    return values;
  }
  function restore(root, values) {
    Object.keys(values).forEach(function (key) {
      var form = root.querySelector('form[data-keep="' + key + '"]');
      if (!form) return;
      var item = values[key];
      Object.keys(item.fields).forEach(function (name) {
        var el = form.querySelector('[name="' + name + '"]');
        if (el && !el.value) el.value = item.fields[name];
      });
      var details = form.closest("details");
      if (details && item.open) details.open = true;
    });
  }
  // Answers can land out of order (a refresh started before the user's own POST committed may arrive
  // after the POST's answer): never replace the steps with a render older than the one shown.
  var RENDERED = /id="board-steps"[^>]*data-last-event="(\d+)"/;
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    if (!e.detail.shouldSwap) return;
    var incoming = RENDERED.exec(e.detail.serverResponse || "");
    if (incoming && Number(incoming[1]) < shownUpTo()) {
      e.detail.shouldSwap = false;
      return;
    }
    var trigger = e.detail.requestConfig && e.detail.requestConfig.elt;
    kept = collect(board, trigger);
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    if (Object.keys(kept).length) restore(board, kept);
    kept = {};
    tickTimers();
  });

  // Another helper's live.js dispatches okno:plan-event for every change of this plan: refresh the
  // board (steps, header and timeline in one request), coalescing bursts.
  var timer = null;
  function refresh() {
    timer = null;
    // One request: the steps, with the header and the timeline out of band.
    htmx.ajax("GET", boardUrl + "?part=steps", { target: "#board-steps", swap: "outerHTML" });
  }
  // This page's own clicks: the POST's answer has refreshed the board already (it shows every event up
  // to #board-steps' data-last-event), and a second refresh right after would close a form the user has
  // just opened. Later events of the same user (an automation run finishing, another tab) still refresh.
  var status = document.getElementById("live-status");
  var me = status ? status.dataset.liveUser : "";
  function shownUpTo() {
    var steps = document.getElementById("board-steps");
    return steps ? Number(steps.dataset.lastEvent || 0) : 0;
  }
  document.addEventListener("okno:plan-event", function (e) {
    var planId = e.detail && e.detail.plan_id;
    if (planId && String(planId) !== board.dataset.planId) return;
    if (me && e.detail && String(e.detail.actor_id) === me && Number(e.detail.id) <= shownUpTo()) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 80);  // coalesce a burst of events into one refresh
  });
})();

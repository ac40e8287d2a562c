// Okno live updates: an EventSource on the plan's event stream (changeplans/live.py, docs/realtime.md).
// Every history entry becomes a document event "okno:plan-event" (detail = the entry's JSON);
// pages (the board, the plan page) decide what to refresh. #live-status shows the connection.
(function () {
  "use strict";

  var holder = document.body.dataset.liveUrl ? document.body : document.querySelector("[data-live-url]");
  if (!holder || !window.EventSource) return;
  var status = document.getElementById("live-status");
  var baseUrl = holder.dataset.liveUrl;
  var seen = new Set(); // ids already dispatched: a replay after a reconnect may repeat some
  var lastId = null;
  var source = null;
  var retryDelay = 2000;

  function text(state) {
    var fallback = { live: "в эфире", reconnecting: "переподключение…" };
    if (!status) return fallback[state];
    return status.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)] || fallback[state];
  }

  function show(state) {
    if (!status) return;
    status.dataset.state = state;
    status.textContent = (state === "live" ? "● " : "○ ") + text(state);
    status.classList.toggle("text-bg-success", state === "live");
    status.classList.toggle("text-bg-light", state !== "live");
  }

  function urlAfter(id) {
    // A fresh EventSource forgets Last-Event-ID: carry the cursor in ?after= instead.
    if (id === null) return baseUrl;
    var url = new URL(baseUrl, window.location.href);
    url.searchParams.set("after", id);
    return url.toString();
  }

  function onPlanEvent(e) {
    var data;
    try { data = JSON.parse(e.data); } catch (err) { return; }
    if (seen.has(data.id)) return;
    seen.add(data.id);
    if (lastId === null || data.id > lastId) lastId = data.id;
    if (status) status.dataset.lastEventId = String(lastId);
    document.dispatchEvent(new CustomEvent("okno:plan-event", { detail: data }));
    var me = holder.dataset.liveUser;
    if (holder.hasAttribute("data-live-toast") && data.text && String(data.actor_id) !== me) {
      document.body.dispatchEvent(new CustomEvent("okno:toast", { detail: { text: data.text, level: "info" } }));
    }
  }

  function connect() {
    source = new EventSource(urlAfter(lastId));
    source.addEventListener("open", function () { retryDelay = 2000; show("live"); });
    source.addEventListener("plan", onPlanEvent);
    source.addEventListener("error", function () {
      show("reconnecting");
      // EventSource retries by itself after a network error (with Last-Event-ID), but gives up for
      // good after an HTTP error (e.g. 502 from a proxy while Okno restarts): then start anew.
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryDelay);
        retryDelay = Math.min(retryDelay * 2, 60000);
      }
    });
  }

  show("reconnecting");
  connect();
  window.addEventListener("pagehide", function () { if (source) source.close(); });
})();

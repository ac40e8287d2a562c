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
  var retryDelay = 2000;  // after a refusal; doubles up to RETRY_MAX, back to 2 s once a stream opens
  var RETRY_MAX = 60000;
  var retryTimer = null;

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
    retryTimer = null;
    source = new EventSource(urlAfter(lastId));
    source.addEventListener("open", function () { retryDelay = 2000; show("live"); });
    source.addEventListener("plan", onPlanEvent);
    source.addEventListener("error", function () {
      show("reconnecting");
      // After a network error EventSource retries by itself (after the server's "retry:", with
      // Last-Event-ID). After an HTTP refusal (429/503 when the server has too many streams open, 502
      // from a proxy while Okno restarts) it gives up for good: open a new one later, from the last
      // event seen (?after=), backing off. EventSource cannot read Retry-After, so the delay is random
      // between the back-off and twice it: boards that lost their streams together do not all come
      // back at the same moment.
      if (source.readyState === EventSource.CLOSED && !retryTimer) {
        retryTimer = setTimeout(connect, retryDelay * (1 + Math.random()));
        retryDelay = Math.min(retryDelay * 2, RETRY_MAX);
      }
    });
  }

  show("reconnecting");
  connect();
  window.addEventListener("pagehide", function () {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
    if (source) source.close();
  });
  // Back from the browser's page cache: the stream was closed on the way out; catch up from lastId.
  window.addEventListener("pageshow", function (e) { if (e.persisted && !retryTimer) { show("reconnecting"); connect(); } });
})();

// Okno execution board: running timers, live refreshes on plan events, and the user's work kept safe
// from them (docs/board.md, "Live refreshes and the user's clicks").
//
// A refresh (someone else's change → GET ?part=steps) may land at any moment. It never replaces a part
// the user is working in: a card or the header holding the focused field, a form the user opened, the
// button under a pressed pointer, or a request on its way. Such a part is refreshed when the work ends.
// Answers are ordered: one older than the board shown (data-last-event) is dropped, and a refresh sent
// before the user's own answer was shown is dropped whatever id it carries (the user's answer wins).
(function () {
  "use strict";

  var board = document.getElementById("board");
  if (!board) return;
  var boardUrl = board.dataset.boardUrl;
  var pendingButton = document.getElementById("board-pending");

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

  // ---- What the user is doing -------------------------------------------------------------------
  var pressed = null;   // the element under a pressed mouse button or finger
  var inFlight = [];    // elements whose request (the user's click) waits for its answer
  var answers = 0;      // the user's answers shown so far: a refresh sent before one of them is stale

  function isField(el) {
    return !!el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT") && el.type !== "hidden";
  }
  // Is the user working inside node? except: the element whose answer is being shown (it may replace its own part).
  function engaged(node, except) {
    if (except && node.contains(except)) return false;
    var active = document.activeElement;
    if (isField(active) && node.contains(active)) return true;
    if (pressed && node.contains(pressed)) return true;
    if (inFlight.some(function (el) { return el.isConnected && node.contains(el); })) return true;
    return !!node.querySelector("details[open][data-okno-opened]");
  }
  function busy() {
    return PARTS().some(function (part) { return part && engaged(part); });
  }

  // Forms the user opened (a click on their summary), as opposed to ones the page shows open.
  board.addEventListener("click", function (e) {
    var summary = e.target.closest && e.target.closest("summary");
    var details = summary && summary.parentElement;
    if (!details || details.tagName !== "DETAILS" || e.defaultPrevented) return;
    if (details.open) { delete details.dataset.oknoOpened; settleLater(); } else details.dataset.oknoOpened = "1";
  });
  board.addEventListener("pointerdown", function (e) { pressed = e.target; }, true);
  function released() { setTimeout(function () { pressed = null; settleLater(); }, 0); }  // after the click it makes
  document.addEventListener("pointerup", released, true);
  document.addEventListener("pointercancel", released, true);
  board.addEventListener("focusout", function () { settleLater(); });

  // ---- Typed text, open forms and focus, carried over to a part's new render ----------------------
  function collect(root, except) {
    var values = {};
    root.querySelectorAll("form[data-keep]").forEach(function (form) {
      if (except && (form === except || form.contains(except))) return;
      var fields = {}, any = false;
      form.querySelectorAll("input[type=text], textarea").forEach(function (el) {
        if (el.name && el.value) { fields[el.name] = el.value; any = true; }
      });
      var details = form.closest("details");
      var open = !!(details && details.open);
      if (any || open) values[form.dataset.keep] = { fields: fields, open: open, opened: !!(details && details.dataset.oknoOpened) };
    });
    var active = document.activeElement;
    var activeForm = isField(active) && root.contains(active) && active.closest("form[data-keep]");
    if (activeForm && activeForm !== except) {
      values[""] = { key: activeForm.dataset.keep, name: active.name, start: active.selectionStart, end: active.selectionEnd };
    }
    return values;
  }
  function restore(root, values) {
    Object.keys(values).forEach(function (key) {
      if (!key) return;
      var form = root.querySelector('form[data-keep="' + key + '"]');
      if (!form) return;
      var item = values[key];
      Object.keys(item.fields).forEach(function (name) {
        var el = form.querySelector('[name="' + name + '"]');
        if (el && !el.value) el.value = item.fields[name];
      });
      var details = form.closest("details");
      if (details && item.open) details.open = true;
      if (details && item.opened) details.dataset.oknoOpened = "1";
    });
    var focus = values[""];
    var form = focus && root.querySelector('form[data-keep="' + focus.key + '"]');
    var field = form && form.querySelector('[name="' + focus.name + '"]');
    if (field) {
      field.focus();
      try { field.setSelectionRange(focus.start, focus.end); } catch (err) { /* not a text field */ }
    }
  }

  // ---- Putting an answer on the page ---------------------------------------------------------------
  function PARTS() {
    return [document.getElementById("board-header"), document.getElementById("board-timeline"), document.getElementById("board-steps")];
  }
  function shownUpTo() {
    var steps = document.getElementById("board-steps");
    return steps ? Number(steps.dataset.lastEvent || 0) : 0;
  }
  function replace(old, fresh, except) {
    var values = collect(old, except);
    fresh.removeAttribute("hx-swap-oob");
    old.replaceWith(fresh);
    restore(fresh, values);
    htmx.process(fresh);
  }
  function cardIds(section) {
    return Array.prototype.map.call(section.querySelectorAll("article[id^=board-step-]"), function (a) { return a.id; }).join(",");
  }
  // Show an answer's parts. force: also the parts the user works in (what they typed is carried over).
  // Returns true when a part was left as it was (it is refreshed once the user is done with it).
  function apply(html, except, force) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var incoming = tpl.content.querySelector("#board-steps");
    var left = false;
    ["board-header", "board-timeline"].forEach(function (id) {
      var fresh = tpl.content.querySelector("#" + id), old = document.getElementById(id);
      if (!fresh || !old) return;
      if (!force && engaged(old, except)) { left = true; return; }
      replace(old, fresh, except);
    });
    var steps = document.getElementById("board-steps");
    if (incoming && steps) {
      if (force || cardIds(incoming) !== cardIds(steps)) {
        // The steps changed shape: all at once, typed text carried over. The section itself stays (it is
        // the target of requests on their way: htmx would swap their answers into a detached element).
        var values = collect(steps, except);
        steps.replaceChildren.apply(steps, Array.prototype.slice.call(incoming.childNodes));
        steps.dataset.lastEvent = incoming.dataset.lastEvent;
        restore(steps, values);
        htmx.process(steps);
      } else {
        // Card by card, so that the others' changes show while the user works in one card.
        incoming.querySelectorAll("article[id^=board-step-]").forEach(function (fresh) {
          var old = document.getElementById(fresh.id);
          if (!old) return;
          if (engaged(old, except)) { left = true; return; }
          replace(old, fresh, except);
        });
        steps.dataset.lastEvent = incoming.dataset.lastEvent;
      }
    }
    tickTimers();
    document.dispatchEvent(new CustomEvent("okno:board-updated"));
    return left;
  }

  // ---- Live refreshes ------------------------------------------------------------------------------
  var stale = false;    // a part was left as it was, or a refresh answer was dropped
  var timer = null, refreshing = false, again = false, forcing = false;
  var status = document.getElementById("live-status");
  var me = status ? status.dataset.liveUser : "";

  // stale: the page may lag behind the plan; partsLeft: because a part the user works in was left as it
  // was (then the button that refreshes everything at once is shown).
  function setStale(value, partsLeft) {
    stale = value;
    board.dataset.stale = value ? "1" : "";
    if (pendingButton && (partsLeft || !value)) pendingButton.hidden = !value;
  }
  function told(outcome) {
    document.dispatchEvent(new CustomEvent("okno:board-refresh", { detail: { outcome: outcome } }));
  }
  function want() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 80);  // coalesce a burst of events into one refresh
  }
  function settleLater() {
    // The user may be done: refresh what was left as it was (after the focus has moved on).
    setTimeout(function () { if (stale && !busy()) want(); }, 0);
  }
  function refresh(force) {
    timer = null;
    if (force === true) forcing = true;
    if (refreshing) { again = true; return; }
    refreshing = true;
    again = false;
    force = forcing;
    forcing = false;
    var sentAt = answers;
    // One request: the steps, with the header and the timeline in the same answer.
    fetch(boardUrl + "?part=steps", { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var outcome;
        var match = /id="board-steps"[^>]*data-last-event="(\d+)"/.exec(html);
        if (!match) outcome = "failed";
        else if (sentAt !== answers) {
          outcome = "stale";  // the user's own answer wins: ask again once it is shown
          setStale(true);
        } else if (Number(match[1]) < shownUpTo()) outcome = "older";
        else {
          var left = apply(html, null, force);
          setStale(left, left);
          outcome = left ? "partial" : "applied";
        }
        told(outcome);
      }, function () { told("failed"); })  // not retried at once (no loop on a server that is away): the next event asks again
      .then(function () {
        refreshing = false;
        if (again || (stale && !busy())) want();
      });
  }

  if (pendingButton) pendingButton.addEventListener("click", function () { refresh(true); });

  // live.js dispatches okno:plan-event for every change of this plan. The user's own changes up to
  // #board-steps' data-last-event were shown by their POST's answer: no refresh for them (a second one
  // right after would be wasted). Later events in their name (an automation run ending) still refresh.
  document.addEventListener("okno:plan-event", function (e) {
    var planId = e.detail && e.detail.plan_id;
    if (planId && String(planId) !== board.dataset.planId) return;
    if (me && e.detail && String(e.detail.actor_id) === me && Number(e.detail.id) <= shownUpTo()) return;
    want();
  });

  // ---- The user's own clicks -------------------------------------------------------------------------
  // A request of the board: its element is on the board or on its way, or it aims at a part of the board (a
  // form that left the page while its request was on its way: htmx would swap the answer itself, into parts
  // it looks for beside the detached form, and log htmx:oobErrorNoTarget).
  function fromBoard(e) {
    var elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    var target = e.detail.target;
    if (!elt) return null;
    if (board.contains(elt) || inFlight.indexOf(elt) >= 0) return elt;
    return target && target.isConnected && board.contains(target) ? elt : null;
  }
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    var elt = fromBoard(e);
    if (elt) inFlight.push(elt);
  });
  function done(e) {
    var elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    inFlight = inFlight.filter(function (el) { return el !== elt; });
    settleLater();
  }
  ["htmx:afterRequest", "htmx:sendError", "htmx:timeout", "htmx:abort"].forEach(function (name) {
    document.body.addEventListener(name, done);
  });
  // The answer to a click is always shown (it is newer than anything on the page), into the parts on
  // the page now (htmx's target may have been replaced meanwhile), except parts the user works in elsewhere.
  document.body.addEventListener("htmx:beforeSwap", function (e) {
    var elt = fromBoard(e);
    var html = e.detail.serverResponse;
    if (!elt || !e.detail.shouldSwap || e.detail.swapOverride === "none" || typeof html !== "string" || html.indexOf('id="board-steps"') < 0) return;
    e.detail.shouldSwap = false;
    answers += 1;
    var left = apply(html, elt, false);
    if (left) setStale(true, true);
    // Someone else's change may have come while the click was on its way.
    if (stale && !busy()) want();
  });
})();

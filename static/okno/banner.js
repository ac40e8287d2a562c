/*
 * Okno maintenance banner. Embed on a site:
 *   <script src="https://okno.example/banners/embed.js" data-service="www.nskes.ru" async></script>
 * Options (attributes of that tag):
 *   data-service      the service's address in Okno (required)
 *   data-interval     seconds between checks (default 60, at least 1)
 *   data-close-label  label of the close button (default "Скрыть объявление")
 *   data-push="false" do not push the page down under the banner
 * It asks Okno (the script's own origin) for /banners/<service>.json, shows a bar at the top of the
 * page while a banner is active and removes it when not. No dependencies; errors are silent.
 * Each change fires a "okno:banner" event on document: detail {service, active, text}.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    var candidates = document.querySelectorAll("script[data-service][src*='/banners/embed.js']");
    script = candidates[candidates.length - 1];
  }
  if (!script || !window.fetch || !window.URL) {
    return;
  }
  var service = (script.getAttribute("data-service") || "").trim();
  if (!service) {
    return;
  }
  var seconds = parseFloat(script.getAttribute("data-interval"));
  var interval = Math.max(isFinite(seconds) ? seconds : 60, 1) * 1000;
  var closeLabel = script.getAttribute("data-close-label") || "Скрыть объявление";
  var push = script.getAttribute("data-push") !== "false";
  var url = new URL(encodeURIComponent(service) + ".json", script.src).href;
  var storageKey = "okno-banner-closed:" + service;

  var bar = null;
  var shownKey = null;
  var timer = null;
  var lastPoll = 0;

  function css(element, styles) {
    for (var name in styles) {
      element.style.setProperty(name, styles[name], "important");
    }
  }

  // One fixed container for every Okno banner on the page, and a spacer that keeps the page's
  // own top from hiding under it.
  function container() {
    var box = document.getElementById("okno-banners");
    if (box) {
      return box;
    }
    box = document.createElement("div");
    box.id = "okno-banners";
    css(box, {position: "fixed", top: "0", left: "0", right: "0", "z-index": "2147483000", margin: "0", padding: "0"});
    document.body.appendChild(box);
    if (push) {
      var spacer = document.createElement("div");
      spacer.id = "okno-banners-spacer";
      spacer.setAttribute("aria-hidden", "true");
      css(spacer, {display: "block", height: "0", margin: "0", padding: "0"});
      document.body.insertBefore(spacer, document.body.firstChild);
      var resize = function () {
        spacer.style.setProperty("height", box.offsetHeight + "px", "important");
      };
      if (window.ResizeObserver) {
        new ResizeObserver(resize).observe(box);
      } else {
        window.addEventListener("resize", resize);
        box.addEventListener("okno:fit", resize);
      }
    }
    return box;
  }

  function build() {
    var element = document.createElement("div");
    element.className = "okno-banner";
    element.setAttribute("role", "status");
    element.setAttribute("aria-live", "polite");
    element.setAttribute("data-service", service);
    css(element, {
      display: "flex", "align-items": "flex-start", gap: "10px", "box-sizing": "border-box", width: "100%",
      margin: "0", padding: "10px 12px 10px 16px", background: "#ffc107", color: "#1c1c1c",
      "border-bottom": "1px solid #c79100", "box-shadow": "0 2px 6px rgba(0,0,0,.18)",
      font: "500 clamp(14px, 2.4vw, 16px)/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
      "text-align": "left", "letter-spacing": "normal"
    });
    var icon = document.createElement("span");
    icon.setAttribute("aria-hidden", "true");
    icon.textContent = "\u26A0";
    css(icon, {"flex": "0 0 auto", "font-size": "1.2em", "line-height": "1.15"});
    var text = document.createElement("span");
    text.className = "okno-banner-text";
    css(text, {flex: "1 1 auto", "white-space": "pre-line", "overflow-wrap": "anywhere", "min-width": "0"});
    var close = document.createElement("button");
    close.type = "button";
    close.className = "okno-banner-close";
    close.setAttribute("aria-label", closeLabel);
    close.title = closeLabel;
    close.textContent = "\u00D7";
    css(close, {
      flex: "0 0 auto", "min-width": "32px", "min-height": "32px", margin: "-4px 0", padding: "0 6px",
      border: "0", "border-radius": "4px", background: "transparent", color: "inherit",
      font: "400 24px/1 system-ui, sans-serif", cursor: "pointer"
    });
    close.addEventListener("click", function () {
      try {
        window.sessionStorage.setItem(storageKey, shownKey);
      } catch (e) { /* storage may be blocked: the bar closes for this page view only */ }
      remove();
    });
    element.appendChild(icon);
    element.appendChild(text);
    element.appendChild(close);
    return element;
  }

  function closedByUser(key) {
    try {
      return window.sessionStorage.getItem(storageKey) === key;
    } catch (e) {
      return false;
    }
  }

  function announce(active, text) {
    var event;
    try {
      event = new CustomEvent("okno:banner", {detail: {service: service, active: active, text: text}});
    } catch (e) {
      return;
    }
    document.dispatchEvent(event);
  }

  function fit(box) {
    if (!window.ResizeObserver) {
      box.dispatchEvent(new Event("okno:fit"));
    }
  }

  function show(text, key) {
    var box = container();
    if (!bar) {
      bar = build();
      box.appendChild(bar);
    }
    var changed = bar.querySelector(".okno-banner-text").textContent !== text;
    bar.querySelector(".okno-banner-text").textContent = text;
    fit(box);
    if (changed || shownKey !== key) {
      shownKey = key;
      announce(true, text);
    }
  }

  function remove() {
    if (!bar) {
      return;
    }
    var box = bar.parentNode;
    box.removeChild(bar);
    bar = null;
    shownKey = null;
    if (!box.firstChild) {
      var spacer = document.getElementById("okno-banners-spacer");
      if (spacer) {
        spacer.parentNode.removeChild(spacer);
      }
      box.parentNode.removeChild(box);
    } else {
      fit(box);
    }
    announce(false, "");
  }

  function render(data) {
    var text = data && data.active ? String(data.text || "") : "";
    var key = text ? String(data.shown_from) + "\n" + text : null;
    if (text && !closedByUser(key)) {
      show(text, key);
    } else {
      remove();
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, interval);
  }

  function poll() {
    if (document.hidden) {
      schedule(); // a background tab waits; it checks at once when it is seen again
      return;
    }
    lastPoll = Date.now();
    fetch(url, {credentials: "omit", mode: "cors"})
      .then(function (response) {
        if (response.status === 404) {
          return {active: false};
        }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data) {
          render(data);
        }
      })
      .catch(function () { /* network error, bad answer: keep what is shown, try again later */ })
      .then(schedule);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && Date.now() - lastPoll >= interval) {
      poll();
    }
  });

  if (document.body) {
    poll();
  } else {
    document.addEventListener("DOMContentLoaded", poll);
  }
})();

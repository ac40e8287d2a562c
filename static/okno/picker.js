// Okno: search-as-you-type pickers of people, groups and parties (changeplans:people_search).
//
// <input data-okno-picker="<search url>" data-okno-picker-kind="user|group|party|any|user,party"
//        data-okno-picker-into="<selector of a hidden input>" [data-okno-picker-submit]>
// Typing lists matches under the input (↑/↓ move, Enter or a click chooses, Esc closes); choosing puts the
// label into the input and "user:5" / "group:2" / "party:7" into the hidden input. Typing again clears the
// hidden value: what stays is the typed text. With data-okno-picker-submit, choosing also submits the form.
// Buttons [data-okno-pick-value][data-okno-pick-label] (a suggestion) choose for the picker of their form
// (and submit it with data-okno-pick-submit).
// Events: "okno:picked" (detail: the result) on the input. No inline code: the page's policy forbids it.
(function () {
  "use strict";

  var SELECTOR = "input[data-okno-picker]";
  var DELAY = 150;
  var en = function () { return document.documentElement.lang === "en"; };
  var seq = 0;
  var open = null;  // {input, list, items, active, timer, request}

  function hiddenOf(input) {
    var sel = input.dataset.oknoPickerInto;
    if (!sel) return null;
    return (input.form && input.form.querySelector(sel)) || document.querySelector(sel);
  }

  function setup(input) {
    if (input.dataset.oknoPickerReady) return;
    input.dataset.oknoPickerReady = "1";
    if (!input.id) input.id = "okno-picker-" + (++seq);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-haspopup", "listbox");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", input.id + "-list");
    input.setAttribute("autocomplete", "off");
    var hidden = hiddenOf(input);
    if (hidden && hidden.value) input.dataset.oknoPicked = input.value;
  }

  function setupAll(root) {
    if (root && root.querySelectorAll) root.querySelectorAll(SELECTOR).forEach(setup);
  }

  function place(state) {
    var r = state.input.getBoundingClientRect();
    var list = state.list;
    list.style.position = "fixed";
    list.style.left = r.left + "px";
    list.style.top = r.bottom + 2 + "px";
    list.style.minWidth = Math.max(r.width, 240) + "px";
    list.style.maxHeight = Math.max(120, Math.min(320, window.innerHeight - r.bottom - 12)) + "px";
  }

  function close() {
    if (!open) return;
    var state = open;
    open = null;
    clearTimeout(state.timer);
    state.list.remove();
    state.input.setAttribute("aria-expanded", "false");
    state.input.removeAttribute("aria-activedescendant");
  }

  function ensureList(input) {
    if (open && open.input === input) return open;
    close();
    var list = document.createElement("ul");
    list.id = input.id + "-list";
    list.className = "dropdown-menu show okno-picker-list shadow-sm";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", input.getAttribute("aria-label") || (en() ? "Suggestions" : "Варианты"));
    list.style.overflowY = "auto";
    list.style.zIndex = "1090";
    document.body.appendChild(list);
    open = { input: input, list: list, items: [], active: -1, timer: null, request: 0 };
    place(open);
    input.setAttribute("aria-expanded", "true");
    return open;
  }

  function note(state, text) {
    state.items = [];
    state.active = -1;
    state.list.textContent = "";
    var li = document.createElement("li");
    li.className = "dropdown-item-text small text-secondary okno-picker-note";
    li.textContent = text;
    state.list.appendChild(li);
  }

  function render(state, results) {
    state.items = results;
    state.active = -1;
    state.list.textContent = "";
    state.input.removeAttribute("aria-activedescendant");
    if (!results.length) {
      var free = /party|any/.test(state.input.dataset.oknoPickerKind || "");
      note(state, en() ? (free ? "No match: the typed text is kept" : "Nobody found")
                       : (free ? "Не найдено: останется введённый текст" : "Никого не найдено"));
      return;
    }
    results.forEach(function (item, i) {
      var li = document.createElement("li");
      li.id = state.list.id + "-" + i;
      li.className = "dropdown-item okno-picker-option";
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.index = String(i);
      li.dataset.value = item.value || (item.type + ":" + item.id);
      var label = document.createElement("span");
      label.className = "okno-picker-label";
      label.textContent = item.label;
      li.appendChild(label);
      if (item.detail) {
        var detail = document.createElement("small");
        detail.className = "text-secondary ms-2 okno-picker-detail";
        detail.textContent = item.detail;
        li.appendChild(detail);
      }
      state.list.appendChild(li);
    });
  }

  function activate(state, index) {
    var options = state.list.querySelectorAll("[role=option]");
    if (!options.length) return;
    index = (index + options.length) % options.length;
    options.forEach(function (li, i) {
      var on = i === index;
      li.classList.toggle("active", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
    });
    state.active = index;
    state.input.setAttribute("aria-activedescendant", options[index].id);
    options[index].scrollIntoView({ block: "nearest" });
  }

  function search(input) {
    var state = ensureList(input);
    var q = input.value.trim();
    if (!q) { close(); return; }
    var url = new URL(input.dataset.oknoPicker, window.location.href);
    url.searchParams.set("q", q);
    url.searchParams.set("kind", input.dataset.oknoPickerKind || "user");
    var request = ++state.request;
    if (!state.items.length) note(state, en() ? "Searching…" : "Поиск…");
    fetch(url.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (open !== state || request !== state.request) return;  // a newer search or a closed list
        render(state, data.results || []);
        state.input.dispatchEvent(new CustomEvent("okno:picker-results", { bubbles: true, detail: data }));
      })
      .catch(function () {
        if (open === state && request === state.request) note(state, en() ? "Search is unavailable: the typed text is kept" : "Поиск недоступен: введённый текст сохранится");
      });
  }

  function choose(input, item, submit) {
    var hidden = hiddenOf(input);
    var value = item.value || (item.type + ":" + item.id);
    input.value = item.label;
    input.dataset.oknoPicked = item.label;
    if (hidden) {
      hidden.value = value;
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }
    close();
    input.dispatchEvent(new CustomEvent("okno:picked", { bubbles: true, detail: item }));
    if ((submit || input.hasAttribute("data-okno-picker-submit")) && input.form) {
      if (window.htmx && (input.form.getAttribute("hx-post") || input.form.getAttribute("hx-put"))) htmx.trigger(input.form, "submit");
      else input.form.requestSubmit();
    }
  }

  // Typing: the earlier choice no longer holds; search after a short pause.
  document.addEventListener("input", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches(SELECTOR)) return;
    setup(input);
    if (input.dataset.oknoPicked !== undefined && input.value !== input.dataset.oknoPicked) {
      delete input.dataset.oknoPicked;
      var hidden = hiddenOf(input);
      if (hidden && hidden.value) { hidden.value = ""; hidden.dispatchEvent(new Event("change", { bubbles: true })); }
    }
    var state = ensureList(input);
    clearTimeout(state.timer);
    state.timer = setTimeout(function () { search(input); }, DELAY);
  });

  // Enter on a suggestion button chooses it (the cell editor would otherwise save the form as it is).
  document.addEventListener("keydown", function (e) {
    var button = e.target.closest && e.key === "Enter" && e.target.closest("[data-okno-pick-value]");
    if (!button) return;
    e.preventDefault();
    e.stopPropagation();
    button.click();
  }, true);

  // Keys go to the list while it is open, before the cell editor and the grid see them (capture phase).
  document.addEventListener("keydown", function (e) {
    var input = e.target;
    if (!input.matches || !input.matches(SELECTOR)) return;
    setup(input);
    var state = open && open.input === input ? open : null;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      e.stopPropagation();
      if (!state) { if (input.value.trim()) search(input); return; }
      activate(state, state.active + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && state && state.active >= 0 && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      e.stopPropagation();
      choose(input, state.items[state.active]);
    } else if (e.key === "Escape" && state) {
      e.preventDefault();
      e.stopPropagation();
      close();
    } else if (e.key === "Enter" || e.key === "Tab") {
      close();  // the typed text stays; the form's own Enter goes on
    }
  }, true);

  // Mouse: pressing an option keeps the focus in the input; releasing chooses.
  document.addEventListener("mousedown", function (e) {
    if (open && e.target.closest && e.target.closest(".okno-picker-list")) e.preventDefault();
  });
  document.addEventListener("click", function (e) {
    var li = e.target.closest && e.target.closest(".okno-picker-option");
    if (li && open && open.list.contains(li)) {
      var state = open;
      choose(state.input, state.items[parseInt(li.dataset.index, 10)]);
      state.input.focus();
      return;
    }
    var button = e.target.closest && e.target.closest("[data-okno-pick-value]");
    if (button) {
      e.preventDefault();
      var scope = button.closest("form") || document;
      var input = scope.querySelector(SELECTOR);
      if (!input) return;
      setup(input);
      var suggestion = button.closest(".okno-picker-suggestion");
      if (suggestion) suggestion.remove();
      input.focus();
      choose(input, { value: button.dataset.oknoPickValue, label: button.dataset.oknoPickLabel },
             button.hasAttribute("data-okno-pick-submit"));
    }
  });
  document.addEventListener("mouseover", function (e) {
    var li = e.target.closest && e.target.closest(".okno-picker-option");
    if (li && open && open.list.contains(li)) activate(open, parseInt(li.dataset.index, 10));
  });

  document.addEventListener("focusin", function (e) {
    if (e.target.matches && e.target.matches(SELECTOR)) setup(e.target);
  });
  document.addEventListener("focusout", function (e) {
    if (open && e.target === open.input) close();
  });
  window.addEventListener("resize", function () { if (open) place(open); });
  document.addEventListener("scroll", function () { if (open) place(open); }, true);
  // An htmx swap may take the input away (a saved cell): its list goes too.
  document.addEventListener("htmx:afterSwap", function () { if (open && !open.input.isConnected) close(); });
  document.addEventListener("htmx:load", function (e) { setupAll(e.target); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { setupAll(document); });
  else setupAll(document);
})();

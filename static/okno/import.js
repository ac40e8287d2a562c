// Import of a plan (planio): the upload page and the preview.
// Upload page: a paste into the textarea keeps the clipboard's text/html too, when it holds a table (Word,
// Excel and Confluence put one there): the server reads the table's cells from it in place of the plain text.
// Small HTML goes into the hidden field paste_html; large HTML as a file (the hidden file input paste_html_file),
// which is not held to the form-field size limit. Typing in the textarea afterwards drops the HTML: the
// text as the user left it is what is read then.
// Preview: the busy state while a correction is being applied (htmx swaps the whole preview).
(function () {
  "use strict";
  var FIELD_LIMIT = 1000000;  // characters of HTML kept in the hidden field; more goes as a file

  var form = document.getElementById("import-form");
  if (form) {
    var textarea = form.querySelector("textarea[name=text]");
    var field = form.querySelector("input[type=hidden][name=paste_html]");
    var fileInput = document.getElementById("id_paste_html_file");
    var note = document.getElementById("paste-html-note");
    var pasting = false;

    var clearHtml = function () {
      if (field) field.value = "";
      if (fileInput) fileInput.value = "";
      if (note) note.hidden = true;
    };
    var keepHtml = function (html) {
      clearHtml();
      if (html.length > FIELD_LIMIT && fileInput && window.DataTransfer) {
        try {
          var transfer = new DataTransfer();
          transfer.items.add(new File([html], "paste.html", { type: "text/html" }));
          fileInput.files = transfer.files;
        } catch (err) {
          if (field) field.value = html;  // the browser cannot set files: the field it is
        }
      } else if (field) {
        field.value = html;
      }
      if (note) note.hidden = false;
    };

    if (textarea) {
      if (field && field.value && note) note.hidden = false;  // the form came back with the paste's HTML
      textarea.addEventListener("paste", function (e) {
        var data = e.clipboardData;
        var html = data ? data.getData("text/html") : "";
        // Replacing everything: the paste is the plan. Pasting into the middle of text mixes two sources.
        var replacesAll = textarea.selectionStart === 0 && textarea.selectionEnd === textarea.value.length;
        if (html && /<table[\s>]/i.test(html) && (replacesAll || !textarea.value.trim())) keepHtml(html);
        else clearHtml();
        pasting = true;
        window.setTimeout(function () { pasting = false; }, 0);
      });
      textarea.addEventListener("input", function () {
        if (!pasting) clearHtml();
      });
    }
  }

  // The preview: while a correction is applied, the buttons wait (a confirm would race the correction).
  document.body.addEventListener("htmx:beforeRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "overrides-form") {
      e.detail.elt.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      e.detail.elt.classList.add("okno-import-busy");
    }
  });
  document.body.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.elt && e.detail.elt.id === "overrides-form" && document.body.contains(e.detail.elt)) {
      e.detail.elt.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
      e.detail.elt.classList.remove("okno-import-busy");
    }
  });
})();

// data-okno-copy="selector" on a button: copies the value (or text) of that element to the clipboard, and shows
// data-okno-copied on the button for a moment. No inline code (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-okno-copy]");
    var source = button && document.querySelector(button.dataset.oknoCopy);
    if (!source) return;
    var text = source.value !== undefined ? source.value : source.textContent;
    var done = function () {
      if (!button.dataset.oknoCopyLabel) button.dataset.oknoCopyLabel = button.textContent;
      button.textContent = button.dataset.oknoCopied || button.dataset.oknoCopyLabel;
      setTimeout(function () { button.textContent = button.dataset.oknoCopyLabel; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallback(); });
    } else {
      fallback();
    }
    function fallback() {
      // Plain http (no Clipboard API): select the field and copy the selection.
      if (source.select) source.select();
      try { if (document.execCommand("copy")) done(); } catch (err) { /* the text stays selected for Ctrl+C */ }
    }
  });
})();

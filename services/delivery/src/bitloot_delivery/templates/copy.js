// The reveal page's copy buttons: shown only when this script runs (without it each key
// is selectable text). Copies through the Clipboard API where the page may use it, else
// selects the key and asks the browser to copy the selection.
"use strict";
document.querySelectorAll("button.copy").forEach(function (button) {
  var key = document.getElementById(button.dataset.copy);
  if (!key) {
    return;
  }
  var label = button.textContent;
  function said(text) {
    button.textContent = text;
    window.setTimeout(function () {
      button.textContent = label;
    }, 2000);
  }
  function selectAndCopy() {
    var range = document.createRange();
    range.selectNodeContents(key);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    said(copied ? "Copied" : "Selected: press Ctrl+C");
  }
  button.hidden = false;
  button.addEventListener("click", function () {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(key.textContent).then(function () {
        said("Copied");
      }, selectAndCopy);
    } else {
      selectAndCopy();
    }
  });
});

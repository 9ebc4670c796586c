// onedrive-agent console: reload the page every data-refresh seconds while
// nobody uses it (no focused control, no selected text, tab visible). The
// button turns it off; the choice is remembered in this browser.
(function () {
  "use strict";
  var secs = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  var btn = document.getElementById("refresh");
  if (!secs || !btn) return;
  var key = "onedrive-agent-refresh";
  var on = true;
  try { on = window.localStorage.getItem(key) !== "off"; } catch (e) { /* storage blocked */ }
  function show() {
    btn.textContent = on ? "Auto-refresh: on" : "Auto-refresh: off";
    btn.setAttribute("aria-pressed", on ? "true" : "false");
  }
  btn.hidden = false;
  show();
  btn.addEventListener("click", function () {
    on = !on;
    try { window.localStorage.setItem(key, on ? "on" : "off"); } catch (e) { /* storage blocked */ }
    show();
  });
  function idle() {
    var a = document.activeElement;
    if (a && a !== document.body && a !== btn && a.id !== "main") return false;
    var sel = window.getSelection ? String(window.getSelection()) : "";
    var open = document.querySelector("details[open]");
    return !document.hidden && sel === "" && !open;
  }
  window.setInterval(function () {
    if (on && idle()) window.location.reload();
  }, secs * 1000);
})();

// Send the page's CSRF token with every htmx request (the server refuses a POST without it).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
});
// A button that asks first: <button data-confirm="Really?">.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (question && !window.confirm(question)) { event.preventDefault(); }
});
// A money form's one-time key (hub/web/admin/once.py) is kept in this page's history entry
// when the form is sent. Pages are never cached, so Back fetches this page again with a new
// key; putting the sent key back makes the form sent again from there "already done" on the
// server instead of done twice. A page reached anew (a link, the redirect after a form) has
// a history entry of its own, without keys, and keeps its fresh ones.
document.addEventListener("submit", function (event) {
  var field = event.target.querySelector("input[name=once_key]");
  if (event.defaultPrevented || !field) { return; }
  var state = Object.assign({}, history.state);
  state.onceKeys = Object.assign({}, state.onceKeys);
  state.onceKeys[event.target.getAttribute("action")] = field.value;
  history.replaceState(state, "");
});
(function restoreSentKeys() {
  var sent = (history.state && history.state.onceKeys) || {};
  document.querySelectorAll("form input[name=once_key]").forEach(function (field) {
    var key = sent[field.form.getAttribute("action")];
    if (key) { field.value = key; }
  });
})();
// A form sent once is not sent again by a second click while its answer is on its way (a
// double click recorded a payment twice). Registered after the question above, so a form the
// user declined to send stays usable; the button is disabled after the browser has read the
// form, so a named button's value still goes with it. GET forms (filters) are left alone.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented || (form.method || "").toLowerCase() !== "post") { return; }
  var buttons = form.querySelectorAll("button[type=submit], button:not([type]), input[type=submit]");
  setTimeout(function () {
    buttons.forEach(function (button) { button.disabled = true; });
  }, 0);
});
// Coming back to a page kept by the browser (history), its buttons work again.
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) { return; }
  document.querySelectorAll("form button[disabled], form input[type=submit][disabled]")
    .forEach(function (button) { button.disabled = false; });
});
// A refusal's "Go back" goes back in the history, where the browser keeps what was typed
// into the form; its href (the form's page, loaded afresh) is for JavaScript off.
document.addEventListener("click", function (event) {
  var link = event.target.closest && event.target.closest("a[data-back]");
  if (!link || history.length < 2) { return; }
  event.preventDefault();
  history.back();
});

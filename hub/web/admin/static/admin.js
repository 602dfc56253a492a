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

// The console's own script: sends the session's CSRF token with every htmx request, and
// nothing else that a page could not do without it.
(function () {
  "use strict";
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }
  document.addEventListener("htmx:configRequest", function (event) {
    var token = csrfToken();
    if (token) {
      event.detail.headers["X-CSRF-Token"] = token;
    }
  });
  window.wanodeConsole = { csrfToken: csrfToken };
})();

// Forms marked data-kinds show the fieldsets of the chosen kind only (all show without JS).
(function () {
  "use strict";
  function sync(form) {
    var select = form.querySelector('select[name="kind"]');
    if (!select) {
      return;
    }
    form.querySelectorAll("fieldset[data-kind]").forEach(function (set) {
      var shown = set.getAttribute("data-kind").split(" ").indexOf(select.value) >= 0;
      set.hidden = !shown;
      set.disabled = !shown;
    });
  }
  function init() {
    document.querySelectorAll("form[data-kinds]").forEach(function (form) {
      sync(form);
      form.addEventListener("change", function (event) {
        if (event.target.name === "kind") {
          sync(form);
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:load", init);
})();

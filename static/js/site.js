// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  // A select marked .js-autosubmit submits its form when changed (filters, sort, language).
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target && target.classList && target.classList.contains("js-autosubmit") && target.form) {
      if (typeof target.form.requestSubmit === "function") {
        target.form.requestSubmit();
      } else {
        target.form.submit();
      }
    }
  });
  // Empty filters stay out of the address, so it reads like the links the site itself makes.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("filters")) { return; }
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.name && element.value === "") { element.disabled = true; }
    });
  });
})();

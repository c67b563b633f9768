// Handlers the Content-Security-Policy would block as inline attributes, bound from a file instead.
// import-export's export page: the "Select all" checkbox (its onchange="onSelectToggleChange(event)").
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input.select-toggle").forEach(function (toggle) {
    if (typeof window.onSelectToggleChange === "function") {
      toggle.addEventListener("change", window.onSelectToggleChange);
    }
  });
});

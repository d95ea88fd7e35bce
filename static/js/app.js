// Small enhancements on top of pages that work without JavaScript.
(function () {
  "use strict";

  // GOV.UK pattern: move focus to the error summary so screen readers announce it.
  function focusErrorSummary() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) {
      summary.focus();
    }
  }

  // After an htmx swap, put focus on the new content's heading so keyboard and
  // screen-reader users land where the content changed.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.elt;
    var heading = document.querySelector("[data-focus-on-swap]");
    if (heading && (target.contains(heading) || heading.closest("[id]") === target)) {
      heading.focus();
      heading.removeAttribute("data-focus-on-swap");
    } else if (target && target.querySelector) {
      var title = target.querySelector("h2, h3");
      if (title) {
        title.focus();
      }
    }
  });

  // Pages are never cached for personal data, but htmx keeps a history snapshot
  // unless told otherwise; the meta config sets historyCacheSize to 0.
  // This file is loaded after the page (see base.html), usually once it has loaded.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrorSummary);
  } else {
    focusErrorSummary();
  }
})();

// Idle timeout warning (WCAG 2.2.1 Timing Adjustable). The server ends a session that
// goes unused for its limit; shortly before that, this opens a dialog that says so, counts
// down, and offers "Stay signed in" (a POST that restarts the session's idle clock).
// Before warning it asks the server how long is really left (asking is not activity), so
// use of the site in another tab postpones the warning instead of showing it.
// Pages work without it: the footer states the limit.
(function () {
  "use strict";
  var dialog = document.getElementById("idle-warning");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) {
    return;
  }
  var limit = Number(dialog.getAttribute("data-idle-limit-seconds"));
  var warnBefore = Number(dialog.getAttribute("data-idle-warning-seconds"));
  var statusUrl = dialog.getAttribute("data-status-url");
  var signedOutUrl = dialog.getAttribute("data-signed-out-url");
  var countdown = dialog.querySelector("[data-idle-countdown]");
  var stayForm = dialog.querySelector("[data-stay-signed-in]");
  var deadline = 0;
  var checkTimer = null;
  var tickTimer = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = Math.floor(left / 60) + ":" + pad(left % 60);
  }

  function showWarning() {
    tick();
    if (tickTimer === null) {
      tickTimer = window.setInterval(tick, 1000);
    }
    if (!dialog.open) {
      dialog.showModal();
    }
  }

  function hideWarning() {
    window.clearInterval(tickTimer);
    tickTimer = null;
    if (dialog.open) {
      dialog.close();
    }
  }

  function signedOut() {
    // The server has ended the session: its sign-in page says why.
    window.location.assign(signedOutUrl);
  }

  // Plan the next look at the server: at the warning time, or (while warning) just after
  // the end, when the session is gone unless someone kept it alive.
  function schedule(secondsLeft) {
    window.clearTimeout(checkTimer);
    deadline = Date.now() + secondsLeft * 1000;
    if (secondsLeft > warnBefore) {
      hideWarning();
      checkTimer = window.setTimeout(check, (secondsLeft - warnBefore) * 1000);
    } else {
      showWarning();
      checkTimer = window.setTimeout(check, (secondsLeft + 1) * 1000);
    }
  }

  function follow(response) {
    if (response.type === "opaqueredirect" || !response.ok) {
      throw new Error("signed out");
    }
    return response.json();
  }

  function apply(state) {
    if (state.signed_in) {
      schedule(state.seconds_left);
    } else {
      signedOut();
    }
  }

  function check() {
    window.fetch(statusUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(follow)
      .then(apply)
      .catch(function () {
        // The server could not be asked (offline?): go by the page's own count.
        if (Date.now() >= deadline) {
          signedOut();
        } else {
          schedule((deadline - Date.now()) / 1000);
        }
      });
  }

  stayForm.addEventListener("submit", function (event) {
    event.preventDefault();
    window.fetch(stayForm.action, {
      method: "POST",
      body: new FormData(stayForm),
      credentials: "same-origin",
      redirect: "manual",
      headers: {"Accept": "application/json"}
    })
      .then(follow)
      .then(apply)
      .catch(signedOut);
  });

  // A request htmx made from this page is activity too. The server notes activity at
  // most once a minute, so at least the limit less a minute is left: look again then.
  document.addEventListener("htmx:afterRequest", function () {
    schedule(limit - 60);
  });

  schedule(Number(dialog.getAttribute("data-idle-seconds-left")));
})();

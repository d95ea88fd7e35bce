// Certificates: a live clock that follows the server's time (the server decides
// validity, never the phone), and the print button. Pages work without it.
(function () {
  "use strict";
  var clock = document.getElementById("certificate-clock");
  if (clock) {
    var offset = Number(clock.getAttribute("data-server-time")) - Date.now();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var tick = function () {
      // China Standard Time (UTC+8), as the server shows it.
      var t = new Date(Date.now() + offset + 8 * 3600 * 1000);
      clock.textContent = pad(t.getUTCHours()) + ":" + pad(t.getUTCMinutes()) + ":" + pad(t.getUTCSeconds());
    };
    window.setInterval(tick, 1000);
  }
  var printButton = document.querySelector("[data-print]");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
  }
})();

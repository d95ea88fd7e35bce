// The offline verifier (/verify): checks an SD-JWT VC (RFC 9901) in this browser, with
// WebCrypto Ed25519, against the issuer's JWKS and its Token Status List, both kept in
// the Cache API so that the check works in airplane mode. No framework, no network
// request carries the credential: it comes from the URL fragment, the camera or a paste.
(function () {
  "use strict";

  var CACHE = "credit-self-verifier-v1";
  var config = JSON.parse(document.getElementById("verifier-config").textContent);
  var text = config.text;
  var encoder = new TextEncoder();

  // ------------------------------------------------------------------ encodings
  function fromB64url(value) {
    if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new Error("not base64url");
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    base64 += "===".slice(0, (4 - base64.length % 4) % 4);
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function toB64url(bytes) {
    var binary = "";
    bytes = new Uint8Array(bytes);
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function jsonOf(part) {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(fromB64url(part)));
  }

  // ------------------------------------------------------- cached public material
  // Network first, so a connected phone always has the newest list; the cache when
  // offline. What is fetched is public (keys, revocation lists), never the credential.
  function fetchCached(url) {
    return fetch(url, { cache: "no-store" }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      var copy = response.clone();
      return caches.open(CACHE).then(function (cache) {
        return cache.put(url, copy);
      }).then(function () { return response.text(); });
    }).catch(function () {
      return caches.match(url).then(function (cached) {
        return cached ? cached.text() : null;
      });
    });
  }

  function loadKeys() {
    return fetchCached(config.jwks).then(function (body) {
      return body ? JSON.parse(body).keys : [];
    });
  }

  // ------------------------------------------------------------------ checking
  function verifyJws(jwt, keys, expectedType) {
    var parts = jwt.split(".");
    if (parts.length !== 3) return Promise.reject(new Error("not a JWS"));
    var header = jsonOf(parts[0]);
    if (header.alg !== "EdDSA" || header.typ !== expectedType) {
      return Promise.reject(new Error("unexpected header"));
    }
    var jwk = keys.filter(function (key) { return key.kid === header.kid; })[0];
    if (!jwk || jwk.kty !== "OKP" || jwk.crv !== "Ed25519") {
      return Promise.reject(new Error("unknown key"));
    }
    return crypto.subtle.importKey(
      "jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, ["verify"]
    ).then(function (key) {
      return crypto.subtle.verify({ name: "Ed25519" }, key, fromB64url(parts[2]),
                                  encoder.encode(parts[0] + "." + parts[1]));
    }).then(function (genuine) {
      if (!genuine) throw new Error("bad signature");
      return jsonOf(parts[1]);
    });
  }

  function digestOf(disclosure) {
    return crypto.subtle.digest("SHA-256", encoder.encode(disclosure)).then(toB64url);
  }

  // Disclosures must each be signed for (their digest in _sd), appear once, and be
  // one of the statements this issuer makes, stated as true.
  function checkDisclosures(payload, disclosures) {
    if (payload._sd_alg !== "sha-256" || !Array.isArray(payload._sd)) {
      return Promise.reject(new Error("no digests"));
    }
    return Promise.all(disclosures.map(digestOf)).then(function (digests) {
      var shown = [];
      digests.forEach(function (digest, i) {
        var claim = jsonOf(disclosures[i]);
        if (payload._sd.indexOf(digest) < 0 || digests.indexOf(digest) !== i) {
          throw new Error("disclosure not signed");
        }
        if (!Array.isArray(claim) || claim.length !== 3 || claim[2] !== true ||
            !Object.prototype.hasOwnProperty.call(config.statements, claim[1])) {
          throw new Error("unknown statement");
        }
        shown.push(claim[1]);
      });
      return shown;
    });
  }

  function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).arrayBuffer().then(function (buffer) {
      return new Uint8Array(buffer);
    });
  }

  // The bit for this credential, from the newest list this phone has: {revoked, madeAt}
  // or null when there is none. The list must be the issuer's own, for this address.
  function statusOf(reference, keys) {
    var uri = reference && reference.uri;
    var index = reference && reference.idx;
    if (typeof uri !== "string" || !Number.isInteger(index) || index < 0) {
      return Promise.reject(new Error("no status reference"));
    }
    var url = new URL(uri);
    if (url.origin !== location.origin) return Promise.reject(new Error("foreign status list"));
    return fetchCached(url.pathname).then(function (token) {
      if (!token) return null;
      return verifyJws(token.trim(), keys, "statuslist+jwt").then(function (list) {
        if (list.sub !== uri || list.status_list.bits !== 1) throw new Error("wrong list");
        return inflate(fromB64url(list.status_list.lst)).then(function (bits) {
          if (index >= bits.length * 8) throw new Error("index outside the list");
          return { revoked: ((bits[index >> 3] >> (index & 7)) & 1) === 1, madeAt: list.iat };
        });
      });
    });
  }

  // One verdict: valid, expired, not_valid or unavailable, with what may be shown.
  function check(credential) {
    var parts = credential.split("~");
    if (parts.length < 2 || parts[parts.length - 1] !== "") {
      return Promise.resolve({ verdict: "not_valid" });
    }
    var state = {};
    return loadKeys().then(function (keys) {
      state.keys = keys;
      return verifyJws(parts[0], keys, "dc+sd-jwt");
    }).then(function (payload) {
      state.payload = payload;
      return checkDisclosures(payload, parts.slice(1, -1));
    }).then(function (shown) {
      state.shown = shown;
      return statusOf(state.payload.status && state.payload.status.status_list, state.keys);
    }).then(function (status) {
      var result = { payload: state.payload, statements: state.shown, status: status };
      if (status && status.revoked) result.verdict = "not_valid";
      else if (!(state.payload.exp * 1000 > Date.now())) result.verdict = "expired";
      else if (!status) result.verdict = "unavailable";
      else result.verdict = "valid";
      return result;
    }).catch(function () {
      return { verdict: "not_valid" };
    });
  }

  // ------------------------------------------------------------------ showing
  var section = document.getElementById("verdict");
  var ICONS = { valid: "✓", expired: "⏱", not_valid: "✗", unavailable: "?" };

  function chinaTime(seconds, withDate) {
    var options = { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false };
    if (withDate) { options.year = "numeric"; options.month = "long"; options.day = "numeric"; }
    return new Date(seconds * 1000).toLocaleString(document.documentElement.lang || "en", options);
  }

  function show(result) {
    var valid = result.verdict === "valid";
    section.className = "verdict verdict--" + result.verdict;
    section.querySelector("[data-verdict-icon]").textContent = ICONS[result.verdict];
    section.querySelector("[data-verdict-title]").textContent = text[result.verdict];
    section.querySelector("[data-verdict-explanation]").textContent =
      text[result.verdict + "_explanation"];
    var details = section.querySelector("[data-verdict-details]");
    var statements = section.querySelector("[data-verdict-statements]");
    details.hidden = statements.hidden = !valid;
    if (valid) {
      var payload = result.payload;
      var values = {
        name_masked: payload.name_masked, id_masked: payload.id_masked,
        purpose: config.purposes[payload.purpose] || payload.purpose,
        audience: payload.audience || text.not_stated,
        iat: chinaTime(payload.iat, true), exp: chinaTime(payload.exp, true)
      };
      Object.keys(values).forEach(function (field) {
        details.querySelector('[data-field="' + field + '"]').textContent = values[field];
      });
      var list = statements.querySelector("ul");
      list.textContent = "";
      result.statements.forEach(function (code) {
        var item = document.createElement("li");
        item.textContent = config.statements[code];
        list.appendChild(item);
      });
    }
    section.querySelector("[data-status-age]").textContent = result.status
      ? text.status_age.replace("%(time)s", chinaTime(result.status.madeAt, true)) : "";
    section.hidden = false;
    section.focus({ preventScroll: false });
  }

  function run(input) {
    var credential = (input || "").trim();
    var hash = credential.indexOf("#");
    if (hash >= 0) credential = credential.slice(hash + 1);  // a scanned or pasted URL
    credential = credential.replace(/\s+/g, "");
    if (!credential) return Promise.resolve(null);
    section.hidden = true;  // never leave an earlier verdict showing for this credential
    section.setAttribute("aria-busy", "true");
    return check(credential).then(function (result) {
      section.removeAttribute("aria-busy");
      show(result);
      return result;
    });
  }

  // ------------------------------------------------------------------ inputs
  section.tabIndex = -1;
  document.querySelector("[data-paste-form]").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = document.getElementById("credential").value;
    if (!value.trim()) { document.getElementById("credential").focus(); return; }
    run(value);
  });

  if ("BarcodeDetector" in window && navigator.mediaDevices) {
    var camera = document.querySelector("[data-camera]");
    var video = document.querySelector("[data-camera-video]");
    camera.hidden = false;
    camera.querySelector("button").addEventListener("click", function () {
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } })
        .then(function (stream) {
          video.srcObject = stream;
          video.hidden = false;
          return video.play().then(function () {
            function scan() {
              detector.detect(video).then(function (codes) {
                if (codes.length) {
                  stream.getTracks().forEach(function (track) { track.stop(); });
                  video.hidden = true;
                  run(codes[0].rawValue);
                } else {
                  requestAnimationFrame(scan);
                }
              }, function () { requestAnimationFrame(scan); });
            }
            scan();
          });
        })
        .catch(function () { window.alert(text.camera_failed); });
    });
  }

  // Public material for offline use: the keys and every live revocation list.
  var ready = Promise.all([loadKeys()].concat(config.statusLists.map(fetchCached)));
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.serviceWorker, { scope: config.scope });
  }
  window.creditSelfVerifier = { run: run, ready: ready };
  ready.then(function () {
    document.documentElement.dataset.verifierReady = "true";
    if (location.hash.length > 1) run(location.hash.slice(1));
  });
  window.addEventListener("hashchange", function () { run(location.hash.slice(1)); });
})();

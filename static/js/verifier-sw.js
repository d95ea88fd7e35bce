// Service worker of the offline verifier: keeps /verify, its script, the stylesheet
// and the issuer's keys, so the page opens and checks credentials in airplane mode.
// The page itself keeps the revocation lists it fetches (same cache). Network first:
// a connected phone always gets the newest page, keys and lists.
"use strict";

var CACHE = "credit-self-verifier-v1";

self.addEventListener("install", function (event) {
  var scope = new URL(self.registration.scope);
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return fetch(scope.pathname).then(function (response) {
      // The page names its own script and stylesheet: keep exactly those.
      return response.clone().text().then(function (html) {
        var assets = (html.match(/\/static\/[^"'?#]+\.(?:js|css)/g) || []);
        return Promise.all([
          cache.put(scope.pathname, response),
          cache.addAll(assets.concat(["/.well-known/jwks.json"]))
        ]);
      });
    });
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== location.origin) return;
  var url = new URL(request.url);
  // The page's fragment never reaches here; the query is ignored so any /verify opens.
  var key = url.pathname === new URL(self.registration.scope).pathname ? url.pathname : request;
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && (key === url.pathname || url.pathname.indexOf("/static/") === 0 ||
                        url.pathname === "/.well-known/jwks.json" ||
                        url.pathname.indexOf("/status/") === 0)) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(key, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(key, { ignoreSearch: true }).then(function (cached) {
      return cached || Response.error();
    });
  }));
});

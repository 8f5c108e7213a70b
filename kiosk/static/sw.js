/* The service worker, served as /sw.js for the whole site. It changes nothing while the network
   answers: pages and files come from the network exactly as without it. It only steps in for
   what a listener chose to download (offline.js stores it):
   - a stored chapter's MP3 is answered from the stored whole file, Range requests included
     (Workbox's createPartialResponse cuts the 206 from it; a 206 is never stored);
   - a page or a file of the site that the network cannot give is answered from storage if it
     was stored with a book; a page that was not gets a short note saying so. */
/* global kioskRange */
"use strict";

importScripts("/static/vendor/workbox-range-requests.min.js");

var BOOKS = "kiosk-books-v1";   // a downloaded book's MP3s, pages and cover (offline.js fills it)
var SHELL = "kiosk-shell-v1";   // the site's own CSS and scripts those pages need
var KEPT = [BOOKS, SHELL];

self.addEventListener("install", function () { self.skipWaiting(); });

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("kiosk-") === 0 && KEPT.indexOf(name) < 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function stored(url) {
  return caches.match(url, { ignoreVary: true });
}

function audioReply(request) {
  return stored(request.url).then(function (whole) {
    if (!whole) { return fetch(request); }
    if (request.headers.has("range")) { return kioskRange.createPartialResponse(request, whole); }
    return whole;
  });
}

function offlineNote() {
  var html = "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>没有网络</title>" +
    "<body style=\"font:1.2rem/1.6 sans-serif;margin:2rem\"><h1>现在没有网络</h1>" +
    "<p>这一页没有下载到这部手机上。已下载的书不用网络也能听：打开它的页面即可。</p></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function networkThenStored(request, isPage) {
  return fetch(request).catch(function (error) {
    return stored(request.url).then(function (found) {
      if (found) { return found; }
      if (isPage) { return offlineNote(); }
      throw error;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/media/audio/") === 0) {
    event.respondWith(audioReply(request));
  } else if (request.mode === "navigate") {
    event.respondWith(networkThenStored(request, true));
  } else if (url.pathname.indexOf("/static/") === 0 || url.pathname.indexOf("/media/covers/") === 0) {
    event.respondWith(networkThenStored(request, false));
  }
  // Everything else (the API, play reports) goes to the network untouched.
});

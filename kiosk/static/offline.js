/* Take a book home, on its page: "下载到手机" stores the book's pages and whole MP3s in the
   browser's Cache Storage for the service worker (sw.js) to play them with no network; the list
   of stored books with their removal; and, where storing cannot work (iOS WeChat's WKWebView
   has no service worker), the plain-words fallback. Also: copying the feed's address, the share
   poster, and WeChat's share card where the library configured an official account.
   Nothing here runs until asked, so a page works exactly as before without it. */
(function () {
  "use strict";
  var root = document.getElementById("take-home");
  if (!root) { return; }
  var info = root.dataset;
  var words = JSON.parse(document.getElementById("take-home-words").textContent);
  var BOOKS = "kiosk-books-v1";  // the names sw.js keeps
  var SHELL = "kiosk-shell-v1";
  var LIST_KEY = "kiosk:offline";  // what this phone stores: {bookId: {title, size, urls}}
  var ua = navigator.userAgent;
  var inWeChat = /MicroMessenger/i.test(ua);
  var iosWeChat = inWeChat && /iPhone|iPad|iPod/i.test(ua);
  var canStore = !iosWeChat && "serviceWorker" in navigator && "caches" in window && window.isSecureContext;

  var save = document.getElementById("offline-save");
  var saveBox = document.getElementById("offline-save-box");  // .button's display would beat [hidden]
  var remove = document.getElementById("offline-remove");
  var progress = document.getElementById("offline-progress");
  var status = document.getElementById("offline-status");

  function $(id) { return document.getElementById(id); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }
  function mb(bytes) { return fill(words.mb, { n: (bytes / 1e6).toFixed(1) }); }
  function say(text, isError) { status.textContent = text; status.classList.toggle("is-error", !!isError); }
  function readList() {
    try { return JSON.parse(window.localStorage.getItem(LIST_KEY) || "{}") || {}; } catch (e) { return {}; }
  }
  function writeList(list) {
    try { window.localStorage.setItem(LIST_KEY, JSON.stringify(list)); } catch (e) { /* private mode */ }
  }
  function sameOrigin(url) { return new URL(url, location.href).origin === location.origin; }

  /* ---- storing a book ------------------------------------------------------------------ */

  function fetchWhole(url) {  // a whole file (status 200): a 206 is never stored
    return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (answer) {
      if (answer.status !== 200) { throw new Error("HTTP " + answer.status + " " + url); }
      return answer;
    });
  }

  function assetsOf(html) {  // the CSS, scripts and icons a stored page needs
    var page = new DOMParser().parseFromString(html, "text/html");
    var found = page.querySelectorAll("script[src], link[rel~='stylesheet'][href], link[rel~='icon'][href]");
    return Array.prototype.map.call(found, function (node) {
      return new URL(node.getAttribute("src") || node.getAttribute("href"), location.href).href;
    }).filter(sameOrigin);
  }

  function storeBook(plan) {
    var done = 0;
    var urls = [];
    var assets = {};
    progress.max = plan.size_bytes;
    progress.hidden = false;
    function tell() {
      progress.value = done;
      say(fill(words.saving, { done: mb(done), total: mb(plan.size_bytes) }));
    }
    tell();
    return Promise.all([caches.open(BOOKS), caches.open(SHELL)]).then(function (opened) {
      var books = opened[0], shell = opened[1];
      var chain = Promise.resolve();
      plan.pages.concat(plan.files).forEach(function (url) {
        chain = chain.then(function () { return fetchWhole(url); }).then(function (answer) {
          urls.push(url);
          var isPage = (answer.headers.get("Content-Type") || "").indexOf("text/html") === 0;
          var noted = isPage ? answer.clone().text().then(function (html) {
            assetsOf(html).forEach(function (asset) { assets[asset] = true; });
          }) : Promise.resolve();
          return Promise.all([noted, books.put(url, answer)]);
        });
      });
      chain = chain.then(function () {
        return Promise.all(Object.keys(assets).map(function (asset) {
          return fetchWhole(asset).then(function (answer) { return shell.put(asset, answer); });
        }));
      });
      plan.audio.forEach(function (file) {
        chain = chain.then(function () { return fetchWhole(file.url); }).then(function (answer) {
          urls.push(file.url);
          return books.put(file.url, answer);
        }).then(function () { done += file.size_bytes; tell(); });
      });
      return chain.catch(function (error) {
        return Promise.all(urls.map(function (url) { return books.delete(url); })).then(function () { throw error; });
      });
    }).then(function () { return urls; });
  }

  function download() {
    save.disabled = true;
    if (navigator.storage && navigator.storage.persist) {
      navigator.storage.persist().catch(function () { return false; });  // ask: the browser then keeps it
    }
    navigator.serviceWorker.register(info.sw, { scope: "/" }).then(function () {
      return fetch(info.manifest, { cache: "no-store" });
    }).then(function (answer) {
      if (!answer.ok) { throw new Error("HTTP " + answer.status); }
      return answer.json();
    }).then(function (plan) {
      return storeBook(plan).then(function (urls) {
        var list = readList();
        list[info.bookId] = { title: plan.title, size: plan.size_bytes, urls: urls, page: plan.pages[0] };
        writeList(list);
        return navigator.serviceWorker.ready;
      });
    }).then(function () {
      progress.hidden = true;
      say(words.saved);
      showStored();
    }).catch(function (error) {
      progress.hidden = true;
      var reason = error && error.name === "QuotaExceededError" ? words.no_space : words.network;
      say(fill(words.failed, { reason: reason }), true);
    }).then(function () { save.disabled = false; });
  }

  function removeBook(bookId) {
    var list = readList();
    var entry = list[bookId];
    delete list[bookId];
    writeList(list);
    return caches.open(BOOKS).then(function (books) {
      return Promise.all(((entry && entry.urls) || []).map(function (url) { return books.delete(url); }));
    }).then(function () {
      if (Object.keys(list).length) { return null; }
      // Nothing stored any more: no service worker either, exactly as before the first download.
      return caches.delete(SHELL).then(function () {
        return navigator.serviceWorker.getRegistrations();
      }).then(function (registrations) {
        return Promise.all(registrations.map(function (r) { return r.unregister(); }));
      });
    }).then(function () {
      if (String(bookId) === String(info.bookId)) { say(words.removed); }
      showStored();
    });
  }

  function showStored() {
    var list = readList();
    var ids = Object.keys(list);
    var here = list[info.bookId];
    saveBox.hidden = !!here;
    remove.hidden = !here;
    if (here && !status.textContent) { say(words.saved_here); }
    var box = $("offline-list");
    box.textContent = "";
    ids.forEach(function (id) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = list[id].page || ("/books/" + id);
      link.textContent = list[id].title + "（" + mb(list[id].size) + "）";
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = words.remove;
      button.setAttribute("aria-label", fill(words.remove_named, { title: list[id].title }));
      button.addEventListener("click", function () { removeBook(id); });
      item.appendChild(link);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(button);
      box.appendChild(item);
    });
    $("offline-stored").hidden = ids.length === 0;
  }

  function checkStored() {  // the browser may have cleared its storage: forget what is gone
    var list = readList();
    return Promise.all(Object.keys(list).map(function (id) {
      var last = list[id].urls[list[id].urls.length - 1];
      return caches.match(last).then(function (found) { if (!found) { delete list[id]; } });
    })).then(function () { writeList(list); });
  }

  if (canStore) {
    saveBox.hidden = false;
    save.addEventListener("click", download);
    remove.addEventListener("click", function () { removeBook(info.bookId); });
    checkStored().then(showStored);
  } else {
    // Say so, and offer what does work: the feed, or each chapter's MP3.
    if (!iosWeChat) {
      $("offline-fallback-intro").textContent = words.unsupported;
      $("offline-fallback-safari").hidden = true;
    }
    $("offline-fallback").hidden = false;
  }

  /* ---- the feed's address, the poster ---------------------------------------------------- */

  var copy = $("feed-copy");
  if (navigator.clipboard && window.isSecureContext) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.dataset.url).then(function () { say(copy.dataset.done); });
    });
  }

  var poster = $("share-poster");
  poster.addEventListener("click", function (event) {
    event.preventDefault();
    var image = $("share-image");
    if (!image.getAttribute("src")) { image.src = poster.href; }
    $("share-figure").hidden = false;
    image.scrollIntoView({ block: "nearest" });
  });

  /* ---- WeChat's share card (only with the library's own official account) ---------------- */

  if (inWeChat && info.wechatConfig) {
    var page = location.href.split("#")[0];
    var sdk = document.createElement("script");
    sdk.src = info.wechatSdk;
    sdk.onload = function () {
      fetch(info.wechatConfig + "?url=" + encodeURIComponent(page)).then(function (answer) {
        return answer.ok ? answer.json() : null;
      }).then(function (config) {
        var wx = window.kioskWx;
        if (!config || !wx) { return; }
        wx.config(config);
        wx.ready(function () {
          var card = { title: info.shareTitle, desc: info.shareDesc, link: page, imgUrl: info.shareImage };
          wx.updateAppMessageShareData(card);
          wx.updateTimelineShareData({ title: info.shareTitle, link: page, imgUrl: info.shareImage });
        });
      }).catch(function () { /* no card: sharing still works as WeChat's default */ });
    };
    document.head.appendChild(sdk);
  }
})();

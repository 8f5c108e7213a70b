/* Read-along under the player (templates/visitor/_readalong.html): the chapter's text, the
   sentence being read lit up and kept in view, a tap on a sentence to hear it from there,
   "只听不看" to hide it (remembered). It only listens to the page's <audio> (timeupdate,
   seeked, loadstart when the player moves to another chapter in place) and never starts
   playback itself. The text box scrolls on its own, never the page, and not at all for a
   while after the listener scrolled it (reading ahead). No live region: screen readers are
   not told each sentence. By keyboard or switch, a timed text is one stop in the tab order
   (the sentence being read); the arrow keys move between sentences, Enter or Space plays
   from the one in focus. ES5, for WeChat's and older phones' browsers. */
(function () {
  "use strict";
  var root = document.getElementById("readalong");
  var audio = document.getElementById("audio");
  if (!root || !audio) { return; }
  var box = document.getElementById("readalong-text");
  var note = document.getElementById("readalong-note");
  var toggle = document.getElementById("readalong-toggle");
  var body = document.getElementById("readalong-body");
  var words = {};
  try { words = JSON.parse(document.getElementById("readalong-words").textContent); } catch (e) { words = {}; }
  var HIDDEN_KEY = "kiosk:readalong:hidden";
  var USER_SCROLL_QUIET_MS = 6000;  // after the listener scrolls the text, leave it alone this long
  var LEAD_S = 0.05;

  var starts = [];        // start_s of each sentence, when the text is timed
  var spans = [];
  var current = -1;
  var loadedId = null;
  var request = null;
  var userScrolledAt = 0;
  var autoScrolling = false;

  function store(key, value) { try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ } }
  function recall(key) { try { return window.localStorage.getItem(key); } catch (e) { return null; } }

  function setHidden(hidden) {
    body.hidden = hidden;
    toggle.setAttribute("aria-pressed", hidden ? "true" : "false");
    store(HIDDEN_KEY, hidden ? "1" : "0");
    if (!hidden) { keepInView(true); }
  }
  toggle.addEventListener("click", function () { setHidden(!body.hidden); });

  function chapterId() {
    var link = document.querySelector('#chapters li[aria-current="true"] a[data-id]');
    return link ? link.getAttribute("data-id") : root.getAttribute("data-track-id");
  }

  function say(text) { note.textContent = text || ""; note.hidden = !text; }

  function render(data) {
    box.innerHTML = "";
    spans = [];
    starts = [];
    current = -1;
    var paragraph = null, number = null;
    data.sentences.forEach(function (s, i) {
      if (s.paragraph !== number) {
        paragraph = document.createElement("p");
        box.appendChild(paragraph);
        number = s.paragraph;
      }
      var span = document.createElement("span");
      span.className = "ra-s";
      span.setAttribute("data-i", String(i));
      if (data.aligned) { span.setAttribute("role", "button"); span.tabIndex = -1; }
      span.textContent = s.text;
      paragraph.appendChild(span);
      spans.push(span);
      if (data.aligned) { starts.push(s.start_s); }
    });
    root.classList.toggle("readalong-untimed", !data.aligned);
    // Timed, the sentences are the stops; untimed, the box itself, so it still scrolls by keyboard.
    if (data.aligned && spans.length) { box.removeAttribute("tabindex"); spans[0].tabIndex = 0; }
    else { box.setAttribute("tabindex", "0"); }
    say(data.aligned ? words.tap : words.untimed);
    update();
  }

  function focusInBox() { return box.contains(document.activeElement) && document.activeElement !== box; }
  // The one sentence in the tab order (roving tabindex).
  function makeStop(i) {
    spans.forEach(function (span, j) { span.tabIndex = j === i ? 0 : -1; });
  }

  function load(id) {
    if (!id || id === loadedId) { return; }
    loadedId = id;
    if (request) { request.abort(); }
    box.innerHTML = "";
    spans = [];
    starts = [];
    say(words.loading);
    root.hidden = false;
    var xhr = new XMLHttpRequest();
    request = xhr;
    xhr.open("GET", root.getAttribute("data-url-pattern").replace("{id}", encodeURIComponent(id)));
    xhr.onload = function () {
      if (request !== xhr) { return; }
      request = null;
      if (xhr.status === 404) { root.hidden = true; return; }  // this chapter has no text
      var data = null;
      try { data = xhr.status === 200 ? JSON.parse(xhr.responseText) : null; } catch (e) { data = null; }
      if (!data) { say(words.failed); loadedId = null; return; }
      render(data);
    };
    xhr.onerror = function () { if (request === xhr) { request = null; say(words.failed); loadedId = null; } };
    xhr.send();
  }

  // The sentence being read: the last whose start is at or before the playing time.
  function indexAt(t) {
    var lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (starts[mid] <= t + LEAD_S) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function update() {
    if (!starts.length) { return; }
    var next = indexAt(audio.currentTime || 0);
    if (next === current) { return; }
    if (current >= 0 && spans[current]) {
      spans[current].classList.remove("ra-now");
      spans[current].removeAttribute("aria-current");
    }
    current = next;
    if (current >= 0) {
      spans[current].classList.add("ra-now");
      spans[current].setAttribute("aria-current", "true");
      if (!focusInBox()) { makeStop(current); }  // Tab lands on the sentence being read; focus is never moved
      keepInView(false);
    }
  }

  // Scroll the text box (never the page) so the sentence read is in its upper part; not while
  // the listener is reading elsewhere in it, unless asked (the text was just shown again).
  function keepInView(force) {
    if (current < 0 || body.hidden) { return; }
    if (!force && Date.now() - userScrolledAt < USER_SCROLL_QUIET_MS) { return; }
    var span = spans[current];
    var top = span.offsetTop - box.offsetTop;
    var visible = top >= box.scrollTop && top + span.offsetHeight <= box.scrollTop + box.clientHeight;
    if (visible && !force) { return; }
    autoScrolling = true;
    box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    window.setTimeout(function () { autoScrolling = false; }, 100);
  }
  ["wheel", "touchmove", "keydown"].forEach(function (kind) {
    box.addEventListener(kind, function () { userScrolledAt = Date.now(); }, { passive: true });
  });
  box.addEventListener("scroll", function () { if (!autoScrolling) { userScrolledAt = Date.now(); } }, { passive: true });

  function sentenceOf(target) {
    if (!target || !target.getAttribute || target.getAttribute("data-i") === null || !starts.length) { return -1; }
    return parseInt(target.getAttribute("data-i"), 10);
  }
  function playFrom(i) {
    var at = starts[i];
    userScrolledAt = 0;
    if (audio.readyState >= 1) {
      audio.currentTime = at;
    } else {
      audio.addEventListener("loadedmetadata", function once() {
        audio.removeEventListener("loadedmetadata", once);
        audio.currentTime = at;
      });
      audio.load();
    }
    update();
  }
  box.addEventListener("click", function (event) {
    var i = sentenceOf(event.target);
    if (i >= 0) { playFrom(i); }
  });
  var STEPS = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, Down: 1, Right: 1, Up: -1, Left: -1 };
  box.addEventListener("keydown", function (event) {
    var i = sentenceOf(event.target);
    if (i < 0) { return; }
    var to = -1;
    if (event.key === "Enter" || event.key === " " || event.key === "Spacebar") {
      event.preventDefault();  // Space would scroll the page
      playFrom(i);
      return;
    }
    if (STEPS[event.key]) { to = Math.max(0, Math.min(spans.length - 1, i + STEPS[event.key])); }
    if (event.key === "Home") { to = 0; }
    if (event.key === "End") { to = spans.length - 1; }
    if (to < 0) { return; }
    event.preventDefault();
    makeStop(to);
    spans[to].focus();
  });

  audio.addEventListener("timeupdate", update);
  audio.addEventListener("seeked", update);
  audio.addEventListener("loadstart", function () { load(chapterId()); });

  if (recall(HIDDEN_KEY) === "1") { setHidden(true); }
  load(chapterId());
})();

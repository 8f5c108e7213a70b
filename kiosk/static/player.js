/* The player, on a book's page and on a chapter's page: native <audio>, started only from a
   click (WeChat refuses play() from touchstart or on load), durations from the catalogue (iOS
   WeChat does not read them from the file), position, speed and bookmarks kept on the phone,
   previous/next chapter and the next chapter in place, a sleep timer that fades out. */
(function () {
  "use strict";
  var root = document.getElementById("player");
  if (!root) { return; }
  var audio = document.getElementById("audio");
  var playButton = document.getElementById("play");
  var seek = document.getElementById("seek");
  var elapsed = document.getElementById("elapsed");
  var durationLabel = document.getElementById("duration");
  var speed = document.getElementById("speed");
  var sleepChoice = document.getElementById("sleep");
  var sleepNote = document.getElementById("sleep-note");
  var resumeNote = document.getElementById("resume");
  var statusLine = document.getElementById("status");
  var progressLine = document.getElementById("book-progress");
  var prevButton = document.getElementById("prev");
  var nextButton = document.getElementById("next");
  var chapters = Array.prototype.slice.call(document.querySelectorAll("#chapters a[data-src]"));
  var info = root.dataset;
  var words = JSON.parse(document.getElementById("player-words").textContent);
  var SPEED_KEY = "kiosk:speed";
  var SAVE_EVERY_MS = 5000;
  var FADE_MS = 10000;      // the sleep timer turns the voice down over its last ten seconds
  var current = null;       // the chapter link now loaded
  var pendingSeek = null;   // a position to apply once metadata is there
  var lastSaved = 0;

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function recall(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (all, name) { return name in values ? values[name] : all; });
  }
  function positionKey(id) { return "kiosk:pos:" + id; }
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + ":" + two(m) : String(m)) + ":" + two(r);
  }
  function spoken(seconds) {  // "12分05秒", for a screen reader and for bookmarks
    var s = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? fill(words.spoken_hours, { h: h, m: two(m), s: two(r) }) : fill(words.spoken, { m: m, s: two(r) });
  }
  function timeLeft(seconds) {  // "1小时05分", "12分", "不到1分钟"
    var minutes = Math.floor(Math.max(0, seconds) / 60);
    if (minutes < 1) { return words.under_a_minute; }
    var h = Math.floor(minutes / 60), m = minutes % 60;
    return h ? fill(words.hours, { h: h, m: two(m) }) : fill(words.minutes, { m: m });
  }
  function durationOf(link) { return parseFloat(link.dataset.duration) || 0; }
  function catalogueDuration() { return durationOf(current); }
  function numberOf(link) { return chapters.indexOf(link) + 1; }
  function chapterName(link) { return fill(words.chapter, { n: numberOf(link) }); }
  function say(text) { statusLine.classList.remove("is-error"); statusLine.textContent = text; }
  function sayError(text) { statusLine.classList.add("is-error"); statusLine.textContent = text; }

  // Listening statistics: progress is added up here and sent in one small batch with
  // sendBeacon about once a minute while playing and when the page is hidden - never a
  // request per second. A random id per page load (and chapter) merges one play's reports.
  var BEACON_URL = "/api/v1/plays";
  var BEACON_EVERY_MS = 60000;
  var BEACON_MAX_ITEMS = 20;
  var pageId = randomId();
  var plays = {};           // chapter id -> what was listened since the last batch
  var lastTick = null;      // media time at the previous timeupdate while playing

  function randomId() {
    var bytes = new Uint8Array(12);
    if (window.crypto && window.crypto.getRandomValues) { window.crypto.getRandomValues(bytes); }
    else { for (var i = 0; i < bytes.length; i++) { bytes[i] = Math.floor(Math.random() * 256); } }
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }
  function playOf(id) {
    if (!plays[id]) {
      plays[id] = { play_id: pageId + "-" + id, track_id: parseInt(id, 10), seconds: 0,
                    max_position_s: 0, completed: false, dirty: false };
    }
    return plays[id];
  }
  function noteProgress() {
    if (!current || audio.paused) { lastTick = null; return; }
    var t = audio.currentTime, p = playOf(current.dataset.id);
    var step = lastTick === null ? 0 : t - lastTick;
    if (step > 0 && step < 5) { p.seconds += step; p.dirty = true; }  // a jump is a seek, not listening
    lastTick = t;
    if (t > p.max_position_s) { p.max_position_s = t; p.dirty = true; }
  }
  function sendPlays() {
    if (!navigator.sendBeacon) { return; }
    var batch = Object.keys(plays).filter(function (id) { return plays[id].dirty; }).slice(0, BEACON_MAX_ITEMS);
    if (!batch.length) { return; }
    var items = batch.map(function (id) {
      var p = plays[id];
      return { play_id: p.play_id, track_id: p.track_id, seconds: Math.round(p.seconds * 10) / 10,
               max_position_s: Math.round(p.max_position_s * 10) / 10, completed: p.completed };
    });
    if (navigator.sendBeacon(BEACON_URL, JSON.stringify({ plays: items }))) {
      batch.forEach(function (id, i) { plays[id].seconds -= items[i].seconds; plays[id].dirty = false; });
    }
  }

  // ---- what the page shows ------------------------------------------------------------
  function showTime(seconds) {
    elapsed.textContent = clock(seconds);
    // A screen reader hears the slider when it reaches it (or on request), not every second.
    if (document.activeElement !== seek) {
      seek.value = String(seconds);
      seek.setAttribute("aria-valuetext", fill(words.slider, { at: spoken(seconds), total: spoken(catalogueDuration()) }));
    }
    var left = catalogueDuration() - seconds;
    for (var i = chapters.indexOf(current) + 1; i < chapters.length; i++) { left += durationOf(chapters[i]); }
    progressLine.textContent = fill(words.progress, { n: numberOf(current), total: chapters.length, left: timeLeft(left) });
  }
  function showPlaying(playing) {
    // The label says what a press does; no aria-pressed as well, or a screen reader says it twice.
    playButton.textContent = playing ? words.pause : words.play;
    root.classList.toggle("is-playing", playing);
  }
  function savePosition(force) {
    var now = Date.now();
    if (!current || (!force && now - lastSaved < SAVE_EVERY_MS)) { return; }
    lastSaved = now;
    var t = audio.currentTime;
    var nearEnd = t > catalogueDuration() - 5;
    store(positionKey(current.dataset.id), nearEnd ? "0" : String(Math.floor(t)));
    store("kiosk:book:" + info.bookId, current.dataset.id);
  }
  function rememberLastHeard() {
    // The wall and this book's section offer "继续听《…》第3章" from these.
    var last = JSON.stringify({ book: parseInt(info.bookId, 10), title: info.bookTitle, n: numberOf(current),
                                track: parseInt(current.dataset.id, 10), url: current.href, section: info.section });
    store("kiosk:last", last);
    store("kiosk:last:" + info.section, last);
  }
  function seekTo(seconds) {
    var target = Math.max(0, Math.min(seconds, catalogueDuration()));
    if (audio.readyState >= 1) { audio.currentTime = target; } else { pendingSeek = target; }
    showTime(target);
  }

  function load(link, resume) {
    current = link;
    chapters.forEach(function (a) {
      if (a === link) { a.parentNode.setAttribute("aria-current", "true"); }
      else { a.parentNode.removeAttribute("aria-current"); }
    });
    if (audio.getAttribute("src") !== link.dataset.src) { audio.setAttribute("src", link.dataset.src); }
    audio.volume = 1;
    var numberLine = document.getElementById("track-number");
    numberLine.textContent = chapterName(link);
    numberLine.hidden = link.getAttribute("data-numbered") === "1";  // its title says it already
    document.getElementById("track-title").textContent = link.dataset.title;
    document.getElementById("track-reader").textContent =
      link.dataset.reader ? fill(words.reader, { name: link.dataset.reader }) : "";
    if (info.followUrl === "1") {
      document.title = link.dataset.title + " · " + info.bookTitle;
      if (history.replaceState && link.href !== location.href) { history.replaceState(null, "", link.href); }
    }
    seek.max = String(catalogueDuration());
    durationLabel.textContent = clock(catalogueDuration());
    prevButton.disabled = !neighbour(-1);
    nextButton.disabled = !neighbour(1);
    var saved = resume ? parseFloat(recall(positionKey(link.dataset.id)) || "0") : 0;
    pendingSeek = saved > 3 ? saved : null;
    resumeNote.hidden = !pendingSeek;
    if (pendingSeek) { resumeNote.textContent = fill(words.resume, { time: clock(saved) }); }
    showTime(saved > 3 ? saved : 0);
    describeForLockScreen();
  }

  function play() {
    say("");
    var started = audio.play();
    if (started && started.catch) {
      started.catch(function (error) {
        if (error && error.name === "AbortError") { return; }  // a newer load or pause came first
        showPlaying(false); sayError(words.error);
      });
    }
  }
  function playChapter(link) { load(link, true); play(); }
  function neighbour(step) { return chapters[chapters.indexOf(current) + step] || null; }

  function describeForLockScreen() {
    if (!("mediaSession" in navigator) || !window.MediaMetadata) { return; }
    var art = info.cover ? [{ src: info.cover, sizes: "480x480", type: "image/jpeg" }] : [];
    navigator.mediaSession.metadata = new MediaMetadata({
      title: current.dataset.title, artist: current.dataset.reader, album: info.bookTitle, artwork: art
    });
  }
  function bindLockScreen() {
    if (!("mediaSession" in navigator)) { return; }
    var actions = {
      play: play,
      pause: function () { audio.pause(); },
      seekbackward: function (d) { seekTo(audio.currentTime - ((d && d.seekOffset) || 15)); },
      seekforward: function (d) { seekTo(audio.currentTime + ((d && d.seekOffset) || 15)); },
      seekto: function (d) { seekTo(d.seekTime); },
      previoustrack: function () { var p = neighbour(-1); if (p) { playChapter(p); } },
      nexttrack: function () { var n = neighbour(1); if (n) { playChapter(n); } }
    };
    Object.keys(actions).forEach(function (name) {
      try { navigator.mediaSession.setActionHandler(name, actions[name]); } catch (e) { /* unsupported */ }
    });
  }

  // ---- the sleep timer: minutes of wall-clock time, or the end of this chapter ---------
  var sleep = { mode: "", deadline: 0, ticker: null };

  function sleepOff() {
    if (sleep.ticker !== null) { window.clearInterval(sleep.ticker); }
    sleep = { mode: "", deadline: 0, ticker: null };
    sleepChoice.value = "";
    sleepNote.hidden = true;
    audio.volume = 1;
  }
  function sleepDone() {
    audio.pause();
    sleepOff();
    say(words.sleep_done);
  }
  function fadeTo(remainingMs) {
    audio.volume = Math.max(0, Math.min(1, remainingMs / FADE_MS));
  }
  function sleepTick() {
    var remaining = sleep.deadline - Date.now();
    if (remaining <= 0) { sleepDone(); return; }
    if (remaining < FADE_MS) { fadeTo(remaining); }
    sleepNote.textContent = fill(words.sleep_left, { time: clock(remaining / 1000) });
  }
  function sleepSet(choice) {
    sleepOff();
    if (!choice) { say(words.sleep_off); return; }
    sleepChoice.value = choice;
    sleepNote.hidden = false;
    if (choice === "chapter") {
      sleep.mode = "chapter";
      sleepNote.textContent = words.sleep_left_chapter;
      say(words.sleep_chapter);
      return;
    }
    sleep.mode = "minutes";
    sleep.deadline = Date.now() + parseInt(choice, 10) * 60000;
    sleep.ticker = window.setInterval(sleepTick, 1000);
    sleepTick();
    say(fill(words.sleep_minutes, { n: choice }));
  }
  function chapterFade() {
    if (sleep.mode !== "chapter" || audio.paused) { return; }
    fadeTo((catalogueDuration() - audio.currentTime) * 1000 / (audio.playbackRate || 1));
  }

  // ---- bookmarks, on this phone only ---------------------------------------------------
  var marksKey = "kiosk:marks:" + info.bookId;
  function marks() {
    try { return JSON.parse(recall(marksKey) || "[]"); } catch (e) { return []; }
  }
  function markWords(mark) { return { chapter: fill(words.chapter, { n: mark.n }), time: spoken(mark.t) }; }
  function chapterById(id) {
    return chapters.filter(function (a) { return a.dataset.id === String(id); })[0] || null;
  }
  function showMarks() {
    var list = document.getElementById("bookmarks");
    var saved = marks().filter(function (m) { return chapterById(m.track); });
    list.textContent = "";
    saved.forEach(function (mark) {
      var item = document.createElement("li");
      var go = document.createElement("button");
      go.type = "button";
      go.className = "bookmark-go";
      go.textContent = fill(words.bookmark_go, markWords(mark));
      go.addEventListener("click", function () {
        var link = chapterById(mark.track);
        if (link !== current) { load(link, false); }
        seekTo(mark.t);
        play();
      });
      var remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = words["delete"];
      remove.setAttribute("aria-label", fill(words.bookmark_delete, markWords(mark)));
      remove.addEventListener("click", function () {
        var kept = marks().filter(function (m) { return !(m.track === mark.track && m.t === mark.t); });
        store(marksKey, JSON.stringify(kept));
        showMarks();
        say(fill(words.bookmark_removed, markWords(mark)));
        document.getElementById("bookmark").focus();
      });
      item.appendChild(go);
      item.appendChild(remove);
      list.appendChild(item);
    });
    document.getElementById("bookmarks-box").hidden = saved.length === 0;
  }
  function addMark() {
    var mark = { track: parseInt(current.dataset.id, 10), n: numberOf(current), t: Math.floor(audio.currentTime) };
    var all = marks().filter(function (m) { return !(m.track === mark.track && m.t === mark.t); });
    all.push(mark);
    all.sort(function (a, b) { return a.n - b.n || a.t - b.t; });
    store(marksKey, JSON.stringify(all));
    showMarks();
    say(fill(words.bookmark_added, markWords(mark)));
  }

  // ---- controls ------------------------------------------------------------------------
  playButton.addEventListener("click", function () {
    if (audio.paused) { play(); } else { audio.pause(); }
  });
  document.getElementById("back15").addEventListener("click", function () { seekTo(audio.currentTime - 15); });
  document.getElementById("fwd15").addEventListener("click", function () { seekTo(audio.currentTime + 15); });
  prevButton.addEventListener("click", function () { var p = neighbour(-1); if (p) { playChapter(p); } });
  nextButton.addEventListener("click", function () { var n = neighbour(1); if (n) { playChapter(n); } });
  document.getElementById("where").addEventListener("click", function () {
    say(fill(audio.paused ? words.paused : words.playing,
             { chapter: chapterName(current), time: spoken(audio.currentTime) }));
  });
  document.getElementById("bookmark").addEventListener("click", addMark);
  seek.addEventListener("input", function () {
    elapsed.textContent = clock(seek.valueAsNumber);
    seek.setAttribute("aria-valuetext", fill(words.slider, { at: spoken(seek.valueAsNumber), total: spoken(catalogueDuration()) }));
  });
  seek.addEventListener("change", function () { seekTo(seek.valueAsNumber); });
  speed.addEventListener("change", function () {
    audio.playbackRate = parseFloat(speed.value);
    store(SPEED_KEY, speed.value);
  });
  sleepChoice.addEventListener("change", function () { sleepSet(sleepChoice.value); });
  chapters.forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      playChapter(link);
      playButton.focus();  // a keyboard or switch user lands on the control that now matters
    });
  });

  audio.addEventListener("loadedmetadata", function () {
    audio.playbackRate = parseFloat(speed.value);
    if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
  });
  audio.addEventListener("play", function () { showPlaying(true); resumeNote.hidden = true; rememberLastHeard(); });
  audio.addEventListener("playing", function () {
    audio.playbackRate = parseFloat(speed.value);
    if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
  });
  audio.addEventListener("pause", function () { showPlaying(false); savePosition(true); });
  audio.addEventListener("timeupdate", function () {
    showTime(audio.currentTime); savePosition(false); noteProgress(); chapterFade();
  });
  audio.addEventListener("seeking", function () { lastTick = null; });
  audio.addEventListener("error", function () { showPlaying(false); sayError(words.error); });
  audio.addEventListener("ended", function () {
    var finished = playOf(current.dataset.id);
    finished.completed = true; finished.dirty = true; lastTick = null;
    finished.max_position_s = Math.max(finished.max_position_s, audio.currentTime);
    store(positionKey(current.dataset.id), "0");
    if (sleep.mode === "chapter") { sleepDone(); return; }
    var next = neighbour(1);
    if (next) { load(next, false); play(); } else { showPlaying(false); say(words.book_done); }
  });
  window.addEventListener("pagehide", function () { savePosition(true); sendPlays(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { sendPlays(); }
  });
  window.setInterval(sendPlays, BEACON_EVERY_MS);  // sends only when something was listened

  var savedSpeed = recall(SPEED_KEY);
  if (savedSpeed && speed.querySelector('option[value="' + savedSpeed + '"]')) { speed.value = savedSpeed; }
  // A chapter's page plays that chapter; a book's page the one this phone heard last, or the first.
  var wanted = info.followUrl === "1" ? info.trackId : (recall("kiosk:book:" + info.bookId) || info.trackId);
  bindLockScreen();
  load(chapterById(wanted) || chapters[0], true);
  showMarks();
  // The page arrives with preload="none", so on a slow line its words and pictures come first;
  // once the page is loaded and painted, the chapter's start is fetched, so the tap on 播放
  // sounds at once (the MP3 demuxer also reads the file's end before it can play).
  var WARM_UP_LATEST_MS = 2000;
  function warmUp() { if (audio.preload === "none") { audio.preload = "metadata"; } }
  function warmUpAfterPaint() {
    var types = window.PerformanceObserver && PerformanceObserver.supportedEntryTypes;
    if (!types || types.indexOf("largest-contentful-paint") < 0) { warmUp(); return; }
    new PerformanceObserver(function () { window.setTimeout(warmUp, 0); })
      .observe({ type: "largest-contentful-paint", buffered: true });
    window.setTimeout(warmUp, WARM_UP_LATEST_MS);
  }
  if (pendingSeek !== null) {
    // A returning listener (a saved place in this chapter) has come to resume: fetch the header and
    // seek to the place now, so the tap does not wait for two round trips (header, then the place).
    warmUp();
  } else if (document.readyState === "complete") {
    warmUpAfterPaint();
  } else {
    window.addEventListener("load", warmUpAfterPaint);
  }
  // A finger on the screen (or a key) means a tap may come next: start fetching then at the latest.
  ["pointerdown", "touchstart", "keydown"].forEach(function (name) {
    document.addEventListener(name, warmUp, { passive: true, capture: true });
  });
})();

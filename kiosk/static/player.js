/* The player: native <audio>, started only from a click (WeChat refuses play()
   from touchstart or on load), durations from the catalogue (iOS WeChat does not
   read them from the file), position kept on the phone, next chapter in place. */
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
  var resumeNote = document.getElementById("resume");
  var statusLine = document.getElementById("status");
  var chapters = Array.prototype.slice.call(document.querySelectorAll("#chapters a[data-src]"));
  var label = root.dataset;
  var SPEED_KEY = "kiosk:speed";
  var SAVE_EVERY_MS = 5000;
  var current = null;       // the chapter link now loaded
  var pendingSeek = null;   // a position to apply once metadata is there
  var lastSaved = 0;
  var seeking = false;

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* private mode */ }
  }
  function recall(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function positionKey(id) { return "kiosk:pos:" + id; }
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h && m < 10 ? "0" : "") + m, ss = (r < 10 ? "0" : "") + r;
    return (h ? h + ":" : "") + mm + ":" + ss;
  }
  function catalogueDuration() { return parseFloat(current.dataset.duration) || 0; }

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

  function showTime(seconds) {
    var total = catalogueDuration();
    elapsed.textContent = clock(seconds);
    if (!seeking) { seek.value = String(seconds); }
    seek.setAttribute("aria-valuetext", clock(seconds) + " / " + clock(total));
  }
  function showPlaying(playing) {
    playButton.textContent = playing ? label.labelPause : label.labelPlay;
    playButton.setAttribute("aria-pressed", playing ? "true" : "false");
    root.classList.toggle("is-playing", playing);
  }
  function savePosition(force) {
    var now = Date.now();
    if (!current || (!force && now - lastSaved < SAVE_EVERY_MS)) { return; }
    lastSaved = now;
    var t = audio.currentTime;
    var nearEnd = t > catalogueDuration() - 5;
    store(positionKey(current.dataset.id), nearEnd ? "0" : String(Math.floor(t)));
    store("kiosk:book:" + label.bookId, current.dataset.id);
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
    document.getElementById("track-title").textContent = link.dataset.title;
    document.getElementById("track-reader").textContent =
      link.dataset.reader ? label.labelReader.replace("{name}", link.dataset.reader) : "";
    document.title = link.dataset.title + " · " + label.bookTitle;
    seek.max = String(catalogueDuration());
    durationLabel.textContent = clock(catalogueDuration());
    var saved = resume ? parseFloat(recall(positionKey(link.dataset.id)) || "0") : 0;
    pendingSeek = saved > 3 ? saved : null;
    resumeNote.hidden = !pendingSeek;
    if (pendingSeek) { resumeNote.textContent = label.labelResume.replace("{time}", clock(saved)); }
    showTime(saved > 3 ? saved : 0);
    if (history.replaceState && link.href !== location.href) { history.replaceState(null, "", link.href); }
    describeForLockScreen();
  }

  function play() {
    statusLine.textContent = "";
    var started = audio.play();
    if (started && started.catch) {
      started.catch(function () { showPlaying(false); statusLine.textContent = label.labelError; });
    }
  }

  function describeForLockScreen() {
    if (!("mediaSession" in navigator) || !window.MediaMetadata) { return; }
    var art = label.cover ? [{ src: label.cover, sizes: "480x480", type: "image/jpeg" }] : [];
    navigator.mediaSession.metadata = new MediaMetadata({
      title: current.dataset.title, artist: current.dataset.reader, album: label.bookTitle, artwork: art
    });
  }
  function neighbour(step) { return chapters[chapters.indexOf(current) + step] || null; }
  function bindLockScreen() {
    if (!("mediaSession" in navigator)) { return; }
    var actions = {
      play: play,
      pause: function () { audio.pause(); },
      seekbackward: function (d) { seekTo(audio.currentTime - ((d && d.seekOffset) || 15)); },
      seekforward: function (d) { seekTo(audio.currentTime + ((d && d.seekOffset) || 15)); },
      seekto: function (d) { seekTo(d.seekTime); },
      previoustrack: function () { var p = neighbour(-1); if (p) { load(p, false); play(); } },
      nexttrack: function () { var n = neighbour(1); if (n) { load(n, false); play(); } }
    };
    Object.keys(actions).forEach(function (name) {
      try { navigator.mediaSession.setActionHandler(name, actions[name]); } catch (e) { /* unsupported */ }
    });
  }

  playButton.addEventListener("click", function () {
    if (audio.paused) { play(); } else { audio.pause(); }
  });
  document.getElementById("back15").addEventListener("click", function () { seekTo(audio.currentTime - 15); });
  document.getElementById("fwd15").addEventListener("click", function () { seekTo(audio.currentTime + 15); });
  seek.addEventListener("input", function () { seeking = true; elapsed.textContent = clock(seek.valueAsNumber); });
  seek.addEventListener("change", function () { seeking = false; seekTo(seek.valueAsNumber); });
  speed.addEventListener("change", function () {
    audio.playbackRate = parseFloat(speed.value);
    store(SPEED_KEY, speed.value);
  });
  chapters.forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      load(link, true);
      play();
    });
  });

  audio.addEventListener("loadedmetadata", function () {
    audio.playbackRate = parseFloat(speed.value);
    if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
  });
  audio.addEventListener("play", function () { showPlaying(true); resumeNote.hidden = true; });
  audio.addEventListener("playing", function () {
    audio.playbackRate = parseFloat(speed.value);
    if (pendingSeek !== null) { audio.currentTime = pendingSeek; pendingSeek = null; }
  });
  audio.addEventListener("pause", function () { showPlaying(false); savePosition(true); });
  audio.addEventListener("timeupdate", function () {
    showTime(audio.currentTime); savePosition(false); noteProgress();
  });
  audio.addEventListener("seeking", function () { lastTick = null; });
  audio.addEventListener("error", function () { showPlaying(false); statusLine.textContent = label.labelError; });
  audio.addEventListener("ended", function () {
    var finished = playOf(current.dataset.id);
    finished.completed = true; finished.dirty = true; lastTick = null;
    finished.max_position_s = Math.max(finished.max_position_s, audio.currentTime);
    store(positionKey(current.dataset.id), "0");
    var next = neighbour(1);
    if (next) { load(next, false); play(); } else { showPlaying(false); }
  });
  window.addEventListener("pagehide", function () { savePosition(true); sendPlays(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { sendPlays(); }
  });
  window.setInterval(sendPlays, BEACON_EVERY_MS);  // sends only when something was listened

  var savedSpeed = recall(SPEED_KEY);
  if (savedSpeed && speed.querySelector('option[value="' + savedSpeed + '"]')) { speed.value = savedSpeed; }
  var here = chapters.filter(function (a) { return a.dataset.id === label.trackId; })[0];
  bindLockScreen();
  load(here || chapters[0], true);
})();

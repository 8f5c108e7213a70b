/* The booth: choose a text, say who you are, record (no echo cancellation, noise
   suppression or gain control: they damage a voice), listen back, submit, and
   follow the take through mastering to its report and take-home QR code.
   A public screen: after a take is submitted, after 录下一段, and after an idle spell
   (data-idle-s, with a countdown), nothing of the last volunteer is left on it. */
(function () {
  "use strict";
  var root = document.getElementById("booth");
  if (!root) { return; }
  var label = root.dataset;
  var POLL_MS = 1500;
  var POLL_ERRORS_MAX = 3;  // consecutive failed status requests before the booth gives up
  var POLL_LIMIT_MS = Number(label.pollLimitS || 600) * 1000;
  var IDLE_MS = Number(label.idleS || 120) * 1000;
  var IDLE_WARNING_MS = Math.min(30000, Math.ceil(IDLE_MS / 4000) * 1000);  // the countdown: the last quarter
  var DEFAULT_FONT_PX = 32;
  var COUNTDOWN_S = 3;
  var MIME_PREFERENCE = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4;codecs=mp4a.40.2", "audio/mp4", "audio/ogg;codecs=opus"];
  var state = { textId: "", title: "", stream: null, recorder: null, chunks: [], blob: null, fileName: "take",
    meterFrame: 0, audioContext: null, startedAt: 0, clockTimer: 0, countdownTimer: 0, fontPx: DEFAULT_FONT_PX,
    opening: false, startWhenReady: false, uploading: null, visit: 0, keptName: "", lastActivity: Date.now() };
  var $ = function (id) { return document.getElementById(id); };

  function show(stepId) {
    Array.prototype.forEach.call(root.querySelectorAll(".step"), function (step) { step.hidden = step.id !== stepId; });
    var heading = $(stepId).querySelector("h1, h2");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  }
  function clock(seconds) {
    var s = Math.floor(seconds), m = Math.floor(s / 60), r = s % 60;
    return m + ":" + (r < 10 ? "0" : "") + r;
  }
  function pickMimeType() {
    if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) { return ""; }
    for (var i = 0; i < MIME_PREFERENCE.length; i++) {
      if (MediaRecorder.isTypeSupported(MIME_PREFERENCE[i])) { return MIME_PREFERENCE[i]; }
    }
    return "";
  }

  /* step 1: choose a text */
  Array.prototype.forEach.call(root.querySelectorAll(".text-choice"), function (button) {
    button.addEventListener("click", function () {
      state.textId = button.dataset.textId;
      state.title = button.dataset.title;
      $("prompt-title").textContent = button.dataset.title;
      $("prompt-author").textContent = button.dataset.author;
      $("prompter").textContent = button.dataset.body || label.labelFree;
      show("step-details");
    });
  });
  Array.prototype.forEach.call(root.querySelectorAll("[data-goto]"), function (button) {
    button.addEventListener("click", function () { show(button.dataset.goto); });
  });

  /* step 2: name and consent */
  $("details-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var nameOk = $("reader-name").value.trim().length > 0;
    var consentOk = $("consent").checked;
    $("reader-name-error").hidden = nameOk;
    $("consent-error").hidden = consentOk;
    if (!nameOk) { $("reader-name").focus(); return; }
    if (!consentOk) { $("consent").focus(); return; }
    show("step-record");
    openMicrophone();
  });

  /* step 3: microphone, level meter, countdown, recording */
  /* The microphone may take seconds to open (a first use waits for the permission prompt):
     the screen says "ready" only once it is, and a tap before that starts the countdown then. */
  function openMicrophone() {
    if (state.stream) { $("record-status").textContent = state.startWhenReady ? "" : label.labelReady; return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
      $("record-status").textContent = window.MediaRecorder ? label.labelNoMic : label.labelNoRecorder;
      $("record-start").disabled = true;
      return;
    }
    $("record-status").textContent = state.startWhenReady ? label.labelWaiting : label.labelOpening;
    if (state.opening) { return; }
    state.opening = true;
    navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 }
    }).then(function (stream) {
      state.opening = false;
      state.stream = stream;
      startMeter(stream);
      if (state.startWhenReady) { beginCountdown(); } else { $("record-status").textContent = label.labelReady; }
    }).catch(function () {
      state.opening = false;
      state.startWhenReady = false;
      $("record-status").textContent = label.labelNoMic;
      $("record-start").disabled = true;
    });
  }
  function startMeter(stream) {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    state.audioContext = new Context();
    var analyser = state.audioContext.createAnalyser();
    analyser.fftSize = 2048;
    state.audioContext.createMediaStreamSource(stream).connect(analyser);
    var samples = new Float32Array(analyser.fftSize);
    var fill = $("meter-fill");
    (function draw() {
      analyser.getFloatTimeDomainData(samples);
      var peak = 0;
      for (var i = 0; i < samples.length; i++) { peak = Math.max(peak, Math.abs(samples[i])); }
      var dbfs = peak > 0 ? 20 * Math.log10(peak) : -90;
      var width = Math.max(0, Math.min(100, (dbfs + 60) / 60 * 100));
      fill.style.width = width + "%";
      fill.className = "meter-fill" + (dbfs > -3 ? " hot" : dbfs > -30 ? " good" : "");
      state.meterFrame = requestAnimationFrame(draw);
    })();
  }
  function countdownThen(action) {
    var left = COUNTDOWN_S, box = $("countdown");
    box.hidden = false;
    box.textContent = String(left);
    state.countdownTimer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(state.countdownTimer);
        box.hidden = true;
        action();
      } else { box.textContent = String(left); }
    }, 1000);
  }
  function beginCountdown() {
    state.startWhenReady = false;
    $("record-status").textContent = "";
    $("record-start").hidden = true;
    countdownThen(startRecording);
  }
  $("record-start").addEventListener("click", function () {
    if (state.audioContext && state.audioContext.state === "suspended") { state.audioContext.resume(); }
    if (state.stream) { beginCountdown(); return; }
    state.startWhenReady = true;
    openMicrophone();
  });
  function startRecording() {
    var mimeType = pickMimeType(), visit = state.visit;
    state.chunks = [];
    state.recorder = mimeType ? new MediaRecorder(state.stream, { mimeType: mimeType }) : new MediaRecorder(state.stream);
    state.recorder.addEventListener("dataavailable", function (event) { if (event.data.size) { state.chunks.push(event.data); } });
    state.recorder.addEventListener("stop", function () {
      if (visit !== state.visit) { return; }  // the booth was cleared while recording
      var type = state.recorder.mimeType || mimeType || "audio/webm";
      state.blob = new Blob(state.chunks, { type: type });
      state.fileName = "take." + (type.indexOf("mp4") >= 0 ? "m4a" : type.indexOf("ogg") >= 0 ? "ogg" : "webm");
      review();
    });
    state.recorder.start(1000);
    state.startedAt = Date.now();
    $("record-stop").hidden = false;
    $("record-status").textContent = label.labelRecording;
    state.clockTimer = setInterval(function () { $("record-clock").textContent = clock((Date.now() - state.startedAt) / 1000); }, 250);
  }
  $("record-stop").addEventListener("click", function () {
    clearInterval(state.clockTimer);
    $("record-stop").hidden = true;
    $("record-start").hidden = false;
    $("record-status").textContent = label.labelReady;
    if (state.recorder && state.recorder.state !== "inactive") { state.recorder.stop(); }
  });
  $("file-input").addEventListener("change", function () {
    var file = $("file-input").files[0];
    if (!file) { return; }
    state.blob = file;
    state.fileName = file.name;
    review();
  });
  function setPrompterSize(px) {
    state.fontPx = Math.max(20, Math.min(72, px));
    $("prompter").style.fontSize = state.fontPx + "px";
  }
  $("text-smaller").addEventListener("click", function () { setPrompterSize(state.fontPx - 4); });
  $("text-larger").addEventListener("click", function () { setPrompterSize(state.fontPx + 4); });

  /* step 4: listen back, re-record, submit */
  function review() {
    var audio = $("review-audio");
    if (audio.src) { URL.revokeObjectURL(audio.src); }
    audio.src = URL.createObjectURL(state.blob);
    setSubmitStatus("", false);
    $("submit-take").disabled = false;
    $("record-again").disabled = false;
    show("step-review");
  }
  function setSubmitStatus(text, isError) {
    $("submit-status").textContent = text;
    $("submit-status").classList.toggle("error", isError);
  }
  /* Chrome's MediaRecorder writes WebM without a duration: the player would show no length
     and its seek bar would not work. Seek far past the end once, so the browser reads the
     whole take and learns its length, then rewind to the start. */
  $("review-audio").addEventListener("loadedmetadata", function () {
    var audio = $("review-audio");
    if (audio.duration !== Infinity) { return; }
    audio.addEventListener("durationchange", function rewind() {
      if (!isFinite(audio.duration)) { return; }
      audio.removeEventListener("durationchange", rewind);
      audio.currentTime = 0;
    });
    audio.currentTime = 1e101;
  });
  $("record-again").addEventListener("click", function () { $("review-audio").pause(); show("step-record"); openMicrophone(); });
  $("submit-take").addEventListener("click", function () {
    $("review-audio").pause();
    $("submit-take").disabled = true;
    $("record-again").disabled = true;  // the take is on its way: it is no longer to be re-recorded
    var name = $("reader-name").value.trim();
    var form = new FormData();
    form.append("audio", state.blob, state.fileName);
    form.append("reader_name", name);
    form.append("consent", $("consent").checked ? "1" : "");
    form.append("licence", label.licence);
    form.append("text_id", state.textId);
    var request = new XMLHttpRequest(), visit = state.visit;
    var progress = $("upload-progress");
    request.open("POST", label.uploadUrl);
    request.responseType = "json";
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { progress.hidden = false; progress.value = Math.round(event.loaded / event.total * 100); }
    });
    request.addEventListener("loadend", function () {
      state.uploading = null;
      progress.hidden = true;
      if (visit !== state.visit) { return; }
      var body = request.response && typeof request.response === "object" ? request.response : {};
      if (request.status === 202 && body.status_url) { accepted(body, name); return; }
      refused(request.status, body);
    });
    state.uploading = request;
    setSubmitStatus(label.labelUploading, false);
    request.send(form);
  });
  /* Once the library has the take, the volunteer's name, consent and take leave the screen;
     the name is kept aside only for "还是您吗？", until the next volunteer or an idle spell. */
  function accepted(body, name) {
    state.keptName = name;
    $("reader-name").value = "";
    $("consent").checked = false;
    dropTake();
    setSubmitStatus(label.labelProcessing, false);
    poll(body, Date.now(), 0, state.visit);
  }
  /* A refused or failed upload: the server's own words when it sent the API's JSON error,
     ours otherwise. A fault of the server or the network may pass: 提交 stays offered. */
  function refused(status, body) {
    var transient = status === 0 || status === 408 || status === 429 || status >= 500;
    var fallback = status === 0 ? label.labelNetwork : status >= 500 ? label.labelServerError : label.labelRefused;
    setSubmitStatus(typeof body.message === "string" && body.message ? body.message : fallback, true);
    $("submit-take").disabled = !transient;
    $("record-again").disabled = false;
    if (body.error === "licence_changed") { $("reload-booth").hidden = false; }
  }
  $("reload-booth").addEventListener("click", function () { window.location.reload(); });

  /* step 5: follow processing, show the report and the take-home code */
  /* Polling ends on every final state, after POLL_ERRORS_MAX failed requests in a row, on a
     refusal (4xx), and after POLL_LIMIT_MS; the take-home code is shown whenever the take exists. */
  function poll(accepted, since, errors, visit) {
    if (visit !== state.visit) { return; }
    if (Date.now() - since > POLL_LIMIT_MS) { showUnknown(accepted, label.labelSlow); return; }
    fetch(accepted.status_url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) { throw { status: response.status }; }
        return response.json();
      })
      .then(function (take) {
        if (visit !== state.visit) { return; }
        if (take.status === "queued" || take.status === "processing") {
          setTimeout(function () { poll(accepted, since, 0, visit); }, POLL_MS);
        } else if (take.status === "done" || take.status === "failed") {
          showResult(take, accepted);
        } else { showUnknown(accepted, label.labelPollError); }
      })
      .catch(function (error) {
        if (visit !== state.visit) { return; }
        var status = error && error.status ? error.status : 0;
        if ((status >= 400 && status < 500 && status !== 429) || errors + 1 >= POLL_ERRORS_MAX) {
          showUnknown(accepted, label.labelPollError);
          return;
        }
        setTimeout(function () { poll(accepted, since, errors + 1, visit); }, POLL_MS * 2);
      });
  }
  function showResult(take, accepted) {
    var report = take.report || {};
    var verdict = take.status === "failed" ? "fail" : (report.verdict || "pass");
    $("verdict").textContent = verdict === "pass" ? label.labelPass : verdict === "warn" ? label.labelWarn : label.labelFail;
    $("verdict").className = "verdict " + verdict;
    /* One piece of advice at a time, in plain words (the figures are for the librarian). */
    var advice = take.status === "failed" && take.message ? take.message : (take.advice ? take.advice.text : "");
    $("advice").textContent = advice;
    $("advice").hidden = !advice;
    if (take.status === "done") {
      $("result-audio").src = take.audio_url;
      $("result-audio").hidden = false;
      showTakeHome(accepted);
    }
    showStillYou();
    show("step-result");
  }
  /* The take was received but its outcome is not known here: say so, and hand the take-home code. */
  function showUnknown(accepted, text) {
    $("verdict").textContent = text;
    $("verdict").className = "verdict unknown";
    $("advice").textContent = "";
    $("advice").hidden = true;
    showTakeHome(accepted);
    showStillYou();
    show("step-result");
  }
  function showTakeHome(accepted) {
    $("take-home-qr").src = accepted.status_url.replace(/\/api\/v1\/recordings\/([^/]+)$/, "/r/$1/qr.svg");
    $("take-home").hidden = false;
  }
  function showStillYou() { $("still-you").hidden = !state.keptName; }

  /* A blank booth for the next volunteer. Everything the last one left goes: name, consent,
     take, report, take-home code, text size, a pending countdown and any polling (by
     ``state.visit``). ``keepName`` is the answer to "还是您吗？": the same reader, a new text. */
  function dropTake() {
    state.blob = null;
    var audio = $("review-audio");
    audio.pause();
    if (audio.src) { URL.revokeObjectURL(audio.src); }
    audio.removeAttribute("src");
    audio.load();
    $("file-input").value = "";
  }
  function resetBooth(keepName) {
    if (!$("reload-booth").hidden) { window.location.reload(); return; }  // the licence changed: a fresh screen
    var name = keepName ? state.keptName : "";
    state.visit += 1;
    if (state.uploading) { state.uploading.abort(); }
    if (state.recorder && state.recorder.state !== "inactive") { state.recorder.stop(); }
    state.recorder = null;
    clearInterval(state.clockTimer);
    clearInterval(state.countdownTimer);
    state.startWhenReady = false;
    state.keptName = name;
    state.textId = "";
    state.title = "";
    dropTake();
    $("reader-name").value = name;
    $("consent").checked = false;
    $("reader-name-error").hidden = true;
    $("consent-error").hidden = true;
    $("countdown").hidden = true;
    $("record-stop").hidden = true;
    $("record-start").hidden = false;
    $("record-clock").textContent = "0:00";
    $("prompter").textContent = "";
    $("prompter").scrollTop = 0;
    setPrompterSize(DEFAULT_FONT_PX);
    setSubmitStatus("", false);
    $("submit-take").disabled = false;
    $("record-again").disabled = false;
    $("upload-progress").hidden = true;
    var result = $("result-audio");
    result.pause();
    result.removeAttribute("src");
    result.load();
    result.hidden = true;
    $("take-home-qr").removeAttribute("src");
    $("take-home").hidden = true;
    $("verdict").textContent = "";
    $("advice").textContent = "";
    $("advice").hidden = true;
    $("still-you").hidden = true;
    hideIdleWarning();
    show("step-choose");
    window.scrollTo(0, 0);
  }
  $("start-over").addEventListener("click", function () { resetBooth(false); });
  $("same-reader").addEventListener("click", function () { resetBooth(true); });

  /* Idle: an untouched screen that still holds someone's traces counts down, then clears.
     Not while recording, uploading or playing a take back: those are someone at work. */
  function currentStep() {
    var shown = root.querySelector(".step:not([hidden])");
    return shown ? shown.id : "";
  }
  function isBlank() {
    return currentStep() === "step-choose" && !state.keptName && !$("reader-name").value && !$("consent").checked;
  }
  function isBusy() {
    return Boolean(state.uploading) || !$("countdown").hidden || !$("record-stop").hidden ||
      !$("review-audio").paused || !$("result-audio").paused;
  }
  function hideIdleWarning() { $("idle-warning").hidden = true; $("idle-text").textContent = ""; }
  function noteActivity() { state.lastActivity = Date.now(); if (!$("idle-warning").hidden) { hideIdleWarning(); } }
  ["pointerdown", "keydown", "input", "wheel"].forEach(function (type) {
    document.addEventListener(type, noteActivity, true);
  });
  $("still-here").addEventListener("click", noteActivity);
  setInterval(function () {
    if (isBlank() || isBusy()) { noteActivity(); return; }
    var left = IDLE_MS - (Date.now() - state.lastActivity);
    if (left <= 0) { resetBooth(false); return; }
    if (left <= IDLE_WARNING_MS) {
      var text = label.labelIdle.replace("{seconds}", String(Math.ceil(left / 1000)));
      if ($("idle-text").textContent !== text) { $("idle-text").textContent = text; }
      $("idle-warning").hidden = false;
    }
  }, 250);
  setPrompterSize(state.fontPx);
})();

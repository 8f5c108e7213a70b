/* The booth: choose a text, say who you are, record (no echo cancellation, noise
   suppression or gain control: they damage a voice), listen back, submit, and
   follow the take through mastering to its report and take-home QR code. */
(function () {
  "use strict";
  var root = document.getElementById("booth");
  if (!root) { return; }
  var label = root.dataset;
  var POLL_MS = 1500;
  var COUNTDOWN_S = 3;
  var MIME_PREFERENCE = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4;codecs=mp4a.40.2", "audio/mp4", "audio/ogg;codecs=opus"];
  var state = { textId: "", title: "", stream: null, recorder: null, chunks: [], blob: null, fileName: "take",
    meterFrame: 0, audioContext: null, startedAt: 0, clockTimer: 0, fontPx: 32 };
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
  function openMicrophone() {
    if (state.stream) { return; }
    $("record-status").textContent = label.labelReady;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.MediaRecorder) {
      $("record-status").textContent = window.MediaRecorder ? label.labelNoMic : label.labelNoRecorder;
      $("record-start").disabled = true;
      return;
    }
    navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 }
    }).then(function (stream) {
      state.stream = stream;
      startMeter(stream);
    }).catch(function () {
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
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(timer); box.hidden = true; action(); } else { box.textContent = String(left); }
    }, 1000);
  }
  $("record-start").addEventListener("click", function () {
    if (!state.stream) { openMicrophone(); return; }
    if (state.audioContext && state.audioContext.state === "suspended") { state.audioContext.resume(); }
    $("record-start").hidden = true;
    countdownThen(startRecording);
  });
  function startRecording() {
    var mimeType = pickMimeType();
    state.chunks = [];
    state.recorder = mimeType ? new MediaRecorder(state.stream, { mimeType: mimeType }) : new MediaRecorder(state.stream);
    state.recorder.addEventListener("dataavailable", function (event) { if (event.data.size) { state.chunks.push(event.data); } });
    state.recorder.addEventListener("stop", function () {
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
    $("submit-status").textContent = "";
    $("submit-take").disabled = false;
    show("step-review");
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
  $("record-again").addEventListener("click", function () { $("review-audio").pause(); show("step-record"); });
  $("submit-take").addEventListener("click", function () {
    $("review-audio").pause();
    $("submit-take").disabled = true;
    var form = new FormData();
    form.append("audio", state.blob, state.fileName);
    form.append("reader_name", $("reader-name").value.trim());
    form.append("consent", $("consent").checked ? "1" : "");
    form.append("text_id", state.textId);
    var request = new XMLHttpRequest();
    var progress = $("upload-progress");
    request.open("POST", label.uploadUrl);
    request.responseType = "json";
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) { progress.hidden = false; progress.value = Math.round(event.loaded / event.total * 100); }
    });
    request.addEventListener("load", function () {
      progress.hidden = true;
      var body = request.response || {};
      if (request.status === 202) { $("submit-status").textContent = label.labelProcessing; poll(body); return; }
      $("submit-status").textContent = body.message || label.labelNetwork;
      $("submit-take").disabled = false;
    });
    request.addEventListener("error", function () {
      progress.hidden = true;
      $("submit-status").textContent = label.labelNetwork;
      $("submit-take").disabled = false;
    });
    $("submit-status").textContent = label.labelUploading;
    request.send(form);
  });

  /* step 5: follow processing, show the report and the take-home code */
  function poll(accepted) {
    fetch(accepted.status_url, { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (take) {
        if (take.status === "queued" || take.status === "processing") { setTimeout(function () { poll(accepted); }, POLL_MS); return; }
        showResult(take, accepted);
      })
      .catch(function () { setTimeout(function () { poll(accepted); }, POLL_MS * 2); });
  }
  function formatValue(value, unit) {
    if (value === null || value === undefined) { return "—"; }
    if (unit === "%") { return (value * 100).toFixed(value < 0.01 && value > 0 ? 2 : 0) + " %"; }
    return value.toFixed(1) + " " + unit;
  }
  function showResult(take, accepted) {
    var report = take.report || {};
    var verdict = take.status === "failed" ? "fail" : (report.verdict || "pass");
    $("verdict").textContent = verdict === "pass" ? label.labelPass : verdict === "warn" ? label.labelWarn : label.labelFail;
    $("verdict").className = "verdict " + verdict;
    var advice = $("advice");
    advice.textContent = "";
    var items = (report.advice || []).map(function (a) { return a.text_zh; });
    if (take.status === "failed" && take.message && items.indexOf(take.message) < 0) { items.unshift(take.message); }
    items.forEach(function (text) { var li = document.createElement("li"); li.textContent = text; advice.appendChild(li); });
    Array.prototype.forEach.call($("report").querySelectorAll("dd"), function (dd) {
      dd.textContent = formatValue(report[dd.dataset.field], dd.dataset.unit);
    });
    $("report").hidden = !take.report;
    if (take.status === "done") {
      $("result-audio").src = take.audio_url;
      $("result-audio").hidden = false;
      $("take-home-qr").src = accepted.status_url.replace(/\/api\/v1\/recordings\/([^/]+)$/, "/r/$1/qr.svg");
      $("take-home").hidden = false;
    }
    show("step-result");
  }
  $("start-over").addEventListener("click", function () {
    state.blob = null;
    $("result-audio").hidden = true;
    $("take-home").hidden = true;
    show("step-choose");
  });
  setPrompterSize(state.fontPx);
})();

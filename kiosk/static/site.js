/* Every visitor page: the text-size and contrast choice applied in place (the server already
   renders the remembered one from its cookie), and "continue listening" from this phone's memory. */
(function () {
  "use strict";
  var YEAR_S = 365 * 24 * 3600;
  var root = document.documentElement;

  function remember(name, value) {
    document.cookie = name + "=" + value + "; max-age=" + YEAR_S + "; path=/; samesite=lax";
  }
  function press(buttons, chosen) {
    buttons.forEach(function (b) { b.setAttribute("aria-pressed", b === chosen ? "true" : "false"); });
  }
  function textSize(button, sizeButtons) {
    sizeButtons.forEach(function (b) { root.classList.remove("text-" + b.value); });
    if (button.value !== "100") { root.classList.add("text-" + button.value); }
    remember("textsize", button.value);
    press(sizeButtons, button);
  }
  function contrast(button) {
    var high = button.value === "high";
    root.classList.toggle("contrast-high", high);
    remember("contrast", high ? "high" : "normal");
    button.setAttribute("aria-pressed", high ? "true" : "false");
    button.value = high ? "normal" : "high";  // the next press undoes it
  }
  function bindDisplay() {
    var form = document.getElementById("display");
    if (!form) { return; }
    var sizeButtons = Array.prototype.slice.call(form.querySelectorAll("button[name=text]"));
    form.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("button") : null;
      if (!button || !form.contains(button)) { return; }
      event.preventDefault();  // no page load: the choice applies at once
      if (button.name === "text") { textSize(button, sizeButtons); } else { contrast(button); }
    });
  }

  function lastHeard(section) {
    try {
      return JSON.parse(window.localStorage.getItem(section ? "kiosk:last:" + section : "kiosk:last") || "null");
    } catch (e) { return null; }
  }
  function showContinue() {
    var slot = document.querySelector("[data-continue]");
    if (!slot) { return; }
    var last = lastHeard(slot.getAttribute("data-continue"));
    if (!last || !last.url || !last.title) { return; }
    var link = document.createElement("a");
    link.className = "button primary continue-link";
    link.href = last.url;
    link.textContent = slot.dataset.label.replace("{title}", last.title)
      .replace("{chapter}", slot.dataset.chapter.replace("{n}", String(last.n)));
    slot.appendChild(link);
    slot.hidden = false;
  }

  bindDisplay();
  showContinue();
})();

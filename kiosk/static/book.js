/* On a book page, "start listening" continues with the chapter last heard on this phone. */
(function () {
  "use strict";
  var button = document.querySelector("[data-resume-book]");
  if (!button) { return; }
  var lastId = null;
  try { lastId = window.localStorage.getItem("kiosk:book:" + button.dataset.resumeBook); } catch (e) { return; }
  var chapter = lastId && document.querySelector('.chapters a[href$="/tracks/' + lastId + '"]');
  if (chapter) {
    button.href = chapter.href;
    button.textContent = button.dataset.labelContinue || button.textContent;
  }
})();

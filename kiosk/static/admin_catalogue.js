// Chapter order by drag and drop: an extra to the ↑ ↓ buttons, which work without this file.
// Dropping a row fills the hidden order form with the new id list and submits it.
(function () {
  "use strict";
  var table = document.getElementById("chapter-table");
  var form = document.getElementById("chapter-order");
  if (!table || !form) { return; }
  var body = table.tBodies[0];
  var dragged = null;

  function rowOf(node) {
    while (node && node.tagName !== "TR") { node = node.parentNode; }
    return node;
  }

  Array.prototype.forEach.call(body.rows, function (row) {
    row.draggable = true;
    row.addEventListener("dragstart", function (event) {
      dragged = row;
      row.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", row.dataset.trackId);
    });
    row.addEventListener("dragend", function () {
      row.classList.remove("dragging");
    });
  });

  body.addEventListener("dragover", function (event) {
    var over = rowOf(event.target);
    if (!dragged || !over || over === dragged) { return; }
    event.preventDefault();
    var box = over.getBoundingClientRect();
    var after = event.clientY > box.top + box.height / 2;
    body.insertBefore(dragged, after ? over.nextSibling : over);
  });

  body.addEventListener("drop", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    dragged = null;
    var ids = Array.prototype.map.call(body.rows, function (row) { return row.dataset.trackId; });
    form.elements.order.value = ids.join(",");
    form.submit();
  });
})();

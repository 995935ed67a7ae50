// Small behaviours the CSP allows (no inline script): auto-submitting selects, search keyboard use.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]")) {
      target.form.submit();
    }
  });
  document.addEventListener("keydown", function (event) {
    var box = document.getElementById("search-results");
    if (!box) { return; }
    var links = Array.prototype.slice.call(box.querySelectorAll("a"));
    if (event.key === "Escape") { box.innerHTML = ""; return; }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") { return; }
    if (!links.length || !event.target.closest || !event.target.closest(".search")) { return; }
    var index = links.indexOf(document.activeElement);
    index = event.key === "ArrowDown" ? Math.min(index + 1, links.length - 1) : Math.max(index - 1, -1);
    event.preventDefault();
    if (index < 0) { document.getElementById("global-search").focus(); } else { links[index].focus(); }
  });
  // After an inline form succeeds the server clears it; keep focus in the form for the next entry.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var first = event.target.querySelector && event.target.querySelector("[autofocus]");
    if (first) { first.focus(); }
  });
})();

// Pipeline board: drag a card to another column, or use the card's own "Move to" form (the keyboard
// and no-script path posts the same endpoint). The server decides; a refused move snaps the card back.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) { return; }
  var status = document.getElementById("board-status");
  var dialog = document.getElementById("lost-dialog");
  var dragged = null;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }
  function say(text, bad) {
    status.textContent = text;
    status.className = "notice " + (bad ? "bad" : "ok");
    status.hidden = false;
  }
  function column(stage) { return board.querySelector('[data-drop-stage="' + stage + '"]'); }
  function recount() {
    Array.prototype.forEach.call(board.querySelectorAll("[data-drop-stage]"), function (list) {
      var counter = board.querySelector('[data-count-for="' + list.getAttribute("data-drop-stage") + '"]');
      if (counter) { counter.textContent = String(list.querySelectorAll(".board-card").length); }
      var empty = list.querySelector(".board-empty");
      if (empty) { empty.hidden = list.querySelectorAll(".board-card").length > 0; }
    });
  }
  // Moving to "lost" needs a reason: ask in a dialog; resolves with the fields, or null when cancelled.
  function askReason(card) {
    return new Promise(function (resolve) {
      if (!dialog) { resolve(null); return; }
      var form = dialog.querySelector("form");
      form.reset();
      dialog.querySelector("[data-card-title]").textContent = card.getAttribute("data-title");
      function done() {
        dialog.removeEventListener("close", done);
        if (dialog.returnValue !== "confirm") { resolve(null); return; }
        resolve({ lost_reason: form.elements.lost_reason.value, lost_note: form.elements.lost_note.value });
      }
      dialog.addEventListener("close", done);
      dialog.returnValue = "";
      dialog.showModal();
    });
  }
  function post(card, stage, extra) {
    var body = new FormData();
    body.append("stage", stage);
    body.append("version", card.getAttribute("data-version"));
    Object.keys(extra || {}).forEach(function (key) { body.append(key, extra[key]); });
    return fetch(card.getAttribute("data-move-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: body
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { ok: response.ok, data: data };
      });
    });
  }
  function move(card, stage, keepFocus) {
    var from = card.parentNode, next = card.nextSibling;
    if (stage === card.getAttribute("data-stage")) { return; }
    var asked = stage === "lost" ? askReason(card) : Promise.resolve({});
    asked.then(function (extra) {
      if (extra === null) { return; }
      column(stage).insertBefore(card, column(stage).querySelector(".board-card"));
      card.classList.add("is-saving");
      recount();
      post(card, stage, extra).then(function (result) {
        card.classList.remove("is-saving");
        if (result.ok && result.data.card) {
          var holder = document.createElement("ul");
          holder.innerHTML = result.data.card;
          var fresh = holder.firstElementChild;
          card.replaceWith(fresh);
          // A move made from the card's form keeps the keyboard where it was, on the moved card.
          if (keepFocus && fresh.querySelector("select")) { fresh.querySelector("select").focus(); }
          say(result.data.message || "", false);
        } else {
          from.insertBefore(card, next);
          say(result.data.message || board.getAttribute("data-refused"), true);
        }
        recount();
      }, function () {
        card.classList.remove("is-saving");
        from.insertBefore(card, next);
        recount();
        say(board.getAttribute("data-offline"), true);
      });
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card[draggable]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.id);
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    Array.prototype.forEach.call(board.querySelectorAll(".drop-target"), function (el) {
      el.classList.remove("drop-target");
    });
  });
  board.addEventListener("dragover", function (event) {
    var list = event.target.closest && event.target.closest("[data-drop-stage]");
    if (!list || !dragged) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    list.classList.add("drop-target");
  });
  board.addEventListener("dragleave", function (event) {
    var list = event.target.closest && event.target.closest("[data-drop-stage]");
    if (list && !list.contains(event.relatedTarget)) { list.classList.remove("drop-target"); }
  });
  board.addEventListener("drop", function (event) {
    var list = event.target.closest && event.target.closest("[data-drop-stage]");
    if (!list || !dragged) { return; }
    event.preventDefault();
    list.classList.remove("drop-target");
    var card = dragged;
    dragged = null;
    move(card, list.getAttribute("data-drop-stage"));
  });
  // The card's own form: the same move without dragging.
  board.addEventListener("submit", function (event) {
    var form = event.target;
    var card = form.closest && form.closest(".board-card");
    if (!card || !form.classList.contains("card-move")) { return; }
    event.preventDefault();
    move(card, form.elements.stage.value, true);
  });
})();

// Party pickers: a result that is ticked moves to the chosen list, so the next search keeps it.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var input = event.target;
    var results = input.closest && input.closest("[data-pick-into]");
    if (!results || !input.checked) { return; }
    var chosen = document.querySelector(results.getAttribute("data-pick-into"));
    if (!chosen) { return; }
    if (input.type === "radio") { chosen.innerHTML = ""; }
    chosen.appendChild(input.closest("label"));
  });
})();

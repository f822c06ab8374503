// triage moderator console: SLA countdowns, reveal of blurred text, keyboard shortcuts.
// Every action is a plain form POST (with its CSRF token); this file only adds convenience.
(function () {
  "use strict";

  const TEXT_INPUTS = new Set(["text", "search", "email", "password", "number", "url", "tel", ""]);

  function isTyping(element) {
    if (!element) return false;
    if (element.isContentEditable) return true;
    if (element.tagName === "TEXTAREA") return true;
    return element.tagName === "INPUT" && TEXT_INPUTS.has(element.type);
  }

  function announce(text) {
    const status = document.getElementById("status");
    if (!status) return;
    status.textContent = "";
    window.setTimeout(function () { status.textContent = text; }, 60);
  }

  // --- SLA timers -------------------------------------------------------------------------
  function duration(seconds) {
    seconds = Math.floor(Math.abs(seconds));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const secs = seconds % 60;
    const pad = function (n) { return String(n).padStart(2, "0"); };
    return hours ? hours + "h " + pad(minutes) + "m" : minutes + "m " + pad(secs) + "s";
  }

  function tick() {
    document.querySelectorAll("[data-due]").forEach(function (timer) {
      const left = (Date.parse(timer.dataset.due) - Date.now()) / 1000;
      timer.textContent = left >= 0 ? duration(left) + " left" : "overdue by " + duration(left);
      timer.classList.toggle("overdue", left < 0);
      timer.classList.toggle("due-soon", left >= 0 && left < 300);
    });
  }

  // --- blurred text -----------------------------------------------------------------------
  function setRevealed(box, revealed) {
    const body = box.querySelector(".sensitive-body");
    const button = box.querySelector("[data-reveal]");
    box.classList.toggle("revealed", revealed);
    if (revealed) {
      body.removeAttribute("aria-hidden");
      body.removeAttribute("inert");
    } else {
      body.setAttribute("aria-hidden", "true");
      body.setAttribute("inert", "");
    }
    button.setAttribute("aria-expanded", String(revealed));
    button.textContent = revealed ? "Hide text" : "Reveal text";
  }

  function toggleReveal(box) {
    if (box) setRevealed(box, !box.classList.contains("revealed"));
  }

  // --- reveal kept across the moderator's own action (console/reveal.py) --------------------
  // An action on this item (claim, release, comment, reopen) sends the ids of the boxes the
  // moderator revealed; the page after it shows them revealed for this session only.
  function carryRevealed(event) {
    const form = event.target;
    const article = document.querySelector("article[data-item-id]");
    if (!article || !form.matches || !form.matches("form[data-action]")) return;
    const ownAction = "/items/" + article.dataset.itemId + "/events";
    if (new URL(form.action, window.location.href).pathname !== ownAction) return;
    const ids = Array.from(article.querySelectorAll("[data-sensitive].revealed .sensitive-body"))
      .map(function (body) { return body.id; })
      .filter(Boolean);
    let field = form.querySelector('input[name="revealed"]');
    if (!ids.length) { if (field) field.remove(); return; }
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "revealed";
      form.appendChild(field);
    }
    field.value = ids.join(",");
  }

  // --- the queue: j / k / o ---------------------------------------------------------------
  let selected = -1;

  function rows() { return Array.from(document.querySelectorAll("[data-row]")); }

  function focusedRow() {
    const row = document.activeElement && document.activeElement.closest("[data-row]");
    return row ? rows().indexOf(row) : selected;
  }

  function select(index) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row, i) { row.classList.toggle("selected", i === selected); });
    const link = all[selected].querySelector("[data-open]");
    link.focus();
    all[selected].scrollIntoView({ block: "nearest" });
  }

  function openSelected() {
    const row = rows()[focusedRow()];
    if (row) row.querySelector("[data-open]").click();
  }

  // --- item actions -----------------------------------------------------------------------
  function actionForm(name) {
    return document.querySelector('form[data-action="' + name + '"]');
  }

  function submitAction(name) {
    const form = actionForm(name);
    if (!form) { announce("You cannot " + name + " this item now."); return; }
    form.requestSubmit();
  }

  function resolve() {
    const form = actionForm("resolve");
    if (!form) { announce("You cannot resolve this item now."); return; }
    if (form.querySelector('input[name="outcome"]:checked')) { form.requestSubmit(); return; }
    form.querySelector('input[name="outcome"]').focus();
    announce("Choose an outcome with the arrow keys or Space, then press r again to resolve.");
  }

  function focusComment() {
    const box = document.getElementById("comment-note");
    if (box) box.focus();
  }

  function openHelp() {
    const help = document.getElementById("help");
    if (help && !help.open) help.showModal();
  }

  const KEYS = {
    j: function () { select(focusedRow() + 1); },
    k: function () { select(focusedRow() - 1); },
    o: openSelected,
    n: function () { window.location.assign("/next"); },
    c: function () { submitAction("claim"); },
    u: function () { submitAction("release"); },
    r: resolve,
    e: function () { submitAction("escalate"); },
    m: focusComment,
    v: function () { toggleReveal(document.querySelector("article [data-sensitive]")); },
    q: function () { window.location.assign("/"); },
    "?": openHelp,
  };

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    const help = document.getElementById("help");
    if (help && help.open) return;
    const active = document.activeElement;
    if (isTyping(active)) return;
    if (event.key === "Enter" && active && active.name === "outcome") {
      event.preventDefault();
      active.form.requestSubmit();
      return;
    }
    const handler = Object.prototype.hasOwnProperty.call(KEYS, event.key) && KEYS[event.key];
    if (!handler) return;
    event.preventDefault();
    handler();
  }

  function onClick(event) {
    const reveal = event.target.closest("[data-reveal]");
    if (reveal) { toggleReveal(reveal.closest("[data-sensitive]")); return; }
    if (event.target.closest("[data-help]")) openHelp();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const status = document.getElementById("status");
    if (status && status.textContent.trim()) announce(status.textContent.trim());
    tick();
    window.setInterval(tick, 1000);
    document.addEventListener("keydown", onKey);
    document.addEventListener("click", onClick);
    document.addEventListener("submit", carryRevealed);
  });
})();

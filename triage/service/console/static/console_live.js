// triage moderator console: live queue updates. Asks GET /console/live every few seconds while
// the tab is visible, updates and inserts the queue's rows, and announces a new crisis or red
// item in the aria-live banner (its tier and id only: the server never sends an item's text, so
// blurred text stays blurred). Every element is built with createElement and textContent:
// nothing from the server is parsed as HTML. Without JavaScript, a reload shows the same.
(function () {
  "use strict";

  const POLL_MS = 5000;
  const MAX_POLL_MS = 60000; // back-off after failures
  const MORE_MS = 500; // the server had more changes than it sent
  const MAX_BANNER_LINES = 5;
  const MAX_REMEMBERED = 200;
  const SOUND_KEY = "triage.live.sound";
  const ANNOUNCED_KEY = "triage.live.announced";
  const HIGH_RISK = new Set(["crisis", "red"]);
  const TIER_NAMES = { crisis: "Crisis", red: "Red", amber: "Amber", green: "Green" };
  const NOT_FILTERS = new Set(["cursor", "done", "item", "since"]); // the rest: the view's filters

  let cursor = 0;
  let seen = 0; // the newest event the page was rendered with: older crises are not news
  let timer = null;
  let delay = POLL_MS;
  let stopped = false;
  let inFlight = false;
  const unplaced = new Set(); // new items in this view that could not be put in the table
  let audio = null;

  // --- storage (may be unavailable: private modes, disabled storage) ------------------------
  function stored(area, key) {
    try { return window[area].getItem(key); } catch (error) { return null; }
  }

  function store(area, key, value) {
    try { window[area].setItem(key, value); } catch (error) { /* kept for this page only */ }
  }

  function announced() {
    try { return new Set(JSON.parse(stored("sessionStorage", ANNOUNCED_KEY) || "[]")); }
    catch (error) { return new Set(); }
  }

  function remember(eventIds) {
    const all = Array.from(announced()).concat(eventIds).slice(-MAX_REMEMBERED);
    store("sessionStorage", ANNOUNCED_KEY, JSON.stringify(all));
  }

  // --- small builders ---------------------------------------------------------------------
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function tierName(tier) { return TIER_NAMES[tier] || "Unscored"; }

  function tierBadge(tier) { return element("span", "tier tier-" + (tier || "unscored"), tierName(tier)); }

  function slaTimer(change) {
    if (change.state === "resolved") return element("span", "sla", "resolved");
    if (!change.sla_due_at) return element("span", "sla", "no SLA");
    const timer = element("time", "sla", slaText(change.sla_due_at));
    timer.setAttribute("datetime", change.sla_due_at);
    timer.dataset.due = change.sla_due_at; // console.js counts it down from here
    return timer;
  }

  // The first wording of a timer, as console.js words it every second after.
  function slaText(due) {
    const left = (Date.parse(due) - Date.now()) / 1000;
    const seconds = Math.floor(Math.abs(left));
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const pad = function (n) { return String(n).padStart(2, "0"); };
    const span = hours ? hours + "h " + pad(minutes) + "m" : minutes + "m " + pad(seconds % 60) + "s";
    return left >= 0 ? span + " left" : "overdue by " + span;
  }

  function flagList(flags) {
    if (!flags.length) return element("span", "muted", "none");
    const list = element("ul", "flags");
    flags.forEach(function (flag) { list.appendChild(element("li", "flag", flag.replace(/_/g, " "))); });
    return list;
  }

  function stateText(change) {
    if (change.state === "claimed") return "claimed by " + (change.claimed_by || "someone");
    if (change.state === "resolved") {
      return change.outcome ? "resolved (" + change.outcome.replace(/_/g, " ") + ")" : "resolved";
    }
    return change.state;
  }

  function fill(cell, node) {
    cell.replaceChildren(node);
  }

  // --- the queue's rows -------------------------------------------------------------------
  function rowOf(itemId) {
    return document.querySelector('[data-row][data-item-id="' + Number(itemId) + '"]');
  }

  function flash(row) {
    row.classList.remove("live-changed");
    void row.offsetWidth; // restart the highlight
    row.classList.add("live-changed");
  }

  function setTierClass(row, tier) {
    Array.from(row.classList).forEach(function (name) {
      if (name.indexOf("tier-row-") === 0) row.classList.remove(name);
    });
    row.classList.add("tier-row-" + (tier || "unscored"));
  }

  // A row whose text was shown plainly and whose item is now high risk: its text goes, rather
  // than stay readable (a reload shows it blurred, with its Reveal button).
  function hidePlainText(row) {
    const plain = row.querySelector(".plain-body");
    if (plain) plain.replaceChildren(element("p", "muted", "Text hidden: this item is now high risk. Reload to see it blurred."));
  }

  function updateRow(row, change) {
    const tier = change.tier || "unscored";
    const tierChanged = row.dataset.tier !== tier;
    const stateChanged = row.dataset.state !== change.state || row.dataset.claimedBy !== (change.claimed_by || "");
    const priority = row.querySelector(".priority");
    if (priority && priority.textContent !== String(change.priority)) {
      priority.textContent = String(change.priority);
      flash(row);
    }
    if (tierChanged) {
      row.dataset.tier = tier;
      setTierClass(row, change.tier);
      const cell = row.querySelector('[data-cell="tier"]');
      if (cell) fill(cell, tierBadge(change.tier));
      const flags = row.querySelector('[data-cell="flags"]');
      if (flags) fill(flags, flagList(change.flags || []));
      if (HIGH_RISK.has(tier) || (change.flags || []).indexOf("self_harm") >= 0) hidePlainText(row);
    }
    if (tierChanged || stateChanged) {
      const sla = row.querySelector('[data-cell="sla"]');
      if (sla) fill(sla, slaTimer(change));
      const state = row.querySelector('[data-cell="state"]');
      if (state) state.textContent = stateText(change);
      row.dataset.state = change.state;
      row.dataset.claimedBy = change.claimed_by || "";
      flash(row);
    }
    row.classList.toggle("live-left", !change.in_view);
    row.title = change.in_view ? "" : "No longer in this view: gone when you reload";
    return { tierChanged: tierChanged, stateChanged: stateChanged };
  }

  function pickCell(template, change) {
    const cell = element("td", template.className);
    const box = template.querySelector("input[type=checkbox]");
    if (!box) return cell;
    const pick = document.createElement("input");
    pick.type = "checkbox";
    ["name", "form"].forEach(function (name) {
      if (box.hasAttribute(name)) pick.setAttribute(name, box.getAttribute(name));
    });
    Object.keys(box.dataset).forEach(function (key) { pick.dataset[key] = box.dataset[key]; });
    pick.value = String(change.item_id);
    pick.setAttribute("aria-label", "Select item #" + change.item_id);
    cell.appendChild(pick);
    return cell;
  }

  function itemCell(template, change) {
    const cell = element("td", template.className);
    const link = element("a", "open", "#" + change.item_id + " ");
    link.href = "/items/" + Number(change.item_id);
    link.dataset.open = "";
    link.appendChild(element("span", "muted", change.community + " / " + change.id));
    cell.appendChild(link);
    cell.appendChild(document.createTextNode(" "));
    cell.appendChild(element("span", "flag live-tag", "new"));
    if (change.reports) cell.appendChild(element("span", "flag", "reported (" + change.reports + ")"));
    cell.appendChild(element("p", "muted live-note", "Arrived after this page loaded: open the item to read it."));
    return cell;
  }

  // The cells of a new row, column by column as the page's first row has them.
  function newCell(template, change) {
    const role = template.dataset.cell;
    if (template.classList.contains("pick")) return pickCell(template, change);
    if (template.classList.contains("priority")) return element("td", "priority", String(change.priority));
    if (template.classList.contains("item-cell")) return itemCell(template, change);
    const cell = element("td", template.className || "");
    if (role) cell.dataset.cell = role;
    if (role === "tier") cell.appendChild(tierBadge(change.tier));
    else if (role === "sla") cell.appendChild(slaTimer(change));
    else if (role === "flags") cell.appendChild(flagList(change.flags || []));
    else if (role === "state") cell.textContent = stateText(change);
    else if (template.querySelector(".reasons")) cell.appendChild(element("span", "muted", "reload to see why"));
    return cell;
  }

  // Put a new item where the queue's order (priority, then oldest first) has it, if that place
  // is on this page; false when it is not (it is counted for the Reload link instead).
  function insertRow(change) {
    const table = document.querySelector("[data-live-table]");
    if (!table) return false;
    const rows = Array.from(table.querySelectorAll("[data-row]"));
    if (!rows.length) return false;
    const at = rows.findIndex(function (row) {
      return Number(row.querySelector(".priority").textContent) < change.priority;
    });
    if (at === -1 && table.dataset.lastPage !== "1") return false;
    if (at === 0 && table.dataset.firstPage !== "1") return false;
    const row = element("tr", "row live-new");
    setTierClass(row, change.tier);
    row.setAttribute("data-row", "");
    row.dataset.itemId = String(change.item_id);
    row.dataset.tier = change.tier || "unscored";
    row.dataset.state = change.state;
    row.dataset.claimedBy = change.claimed_by || "";
    Array.from(rows[0].cells).forEach(function (template) { row.appendChild(newCell(template, change)); });
    if (at === -1) rows[rows.length - 1].after(row);
    else rows[at].before(row);
    flash(row);
    return true;
  }

  // --- announcements ----------------------------------------------------------------------
  function say(text) {
    const region = document.getElementById("live-status");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 60);
  }

  function isNews(change, row, onQueue, already) {
    if (!change.alert || !change.in_view || !HIGH_RISK.has(change.tier)) return false;
    if (already.has(change.alert)) return false;
    // scored after the page was rendered, or missing from the queue it belongs to
    return change.alert > seen || (onQueue && !row);
  }

  function alertLine(change) {
    const line = element("p", "live-alert-line");
    const badge = tierBadge(change.tier);
    badge.setAttribute("aria-hidden", "true");
    line.appendChild(badge);
    line.appendChild(document.createTextNode(
      " New " + tierName(change.tier).toLowerCase() + " item #" + change.item_id + ". "));
    const link = element("a", "", "Open item #" + change.item_id);
    link.href = "/items/" + Number(change.item_id);
    line.appendChild(link);
    return line;
  }

  function raiseAlerts(changes) {
    const region = document.getElementById("live-alert");
    if (!region || !changes.length) return;
    changes.forEach(function (change) { region.appendChild(alertLine(change)); });
    while (region.children.length > MAX_BANNER_LINES) region.firstElementChild.remove();
    region.closest("[data-live-banner]").classList.add("active");
    remember(changes.map(function (change) { return change.alert; }));
    beep();
  }

  function dismiss() {
    const region = document.getElementById("live-alert");
    if (region) region.replaceChildren();
    const banner = document.querySelector("[data-live-banner]");
    if (banner) banner.classList.remove("active");
    const main = document.getElementById("main");
    if (main) main.focus();
  }

  function showReload() {
    const link = document.querySelector("[data-live-reload]");
    if (!link) return;
    const here = new URLSearchParams(window.location.search);
    here.delete("done");
    here.delete("item");
    const query = here.toString();
    link.href = window.location.pathname + (query ? "?" + query : "");
    link.textContent = "Reload the queue (" + unplaced.size + " new not shown)";
    link.hidden = unplaced.size === 0;
  }

  // --- applying an answer -----------------------------------------------------------------
  function plural(count, word) { return count + " " + word + (count === 1 ? "" : "s"); }

  function apply(body) {
    if (typeof body.cursor === "number") cursor = body.cursor;
    const onQueue = document.body.dataset.page === "queue";
    const already = announced();
    const alerts = [];
    const news = [];
    let added = 0;
    (body.changes || []).forEach(function (change) {
      const row = rowOf(change.item_id);
      if (isNews(change, row, onQueue, already)) {
        alerts.push(change);
        already.add(change.alert);
      }
      if (!onQueue) return;
      if (row) {
        const what = updateRow(row, change);
        if (what.stateChanged && change.state === "claimed" && !change.claimed_by_you) {
          news.push("Item #" + change.item_id + " was claimed by " + (change.claimed_by || "someone") + ".");
        } else if (what.tierChanged && alerts.indexOf(change) < 0) {
          news.push("Item #" + change.item_id + " is now " + tierName(change.tier) + ".");
        }
      } else if (!change.in_view) {
        unplaced.delete(change.item_id);
      } else if (!unplaced.has(change.item_id)) {
        if (insertRow(change)) added += 1;
        else unplaced.add(change.item_id);
      }
    });
    if (added) news.unshift(plural(added, "new item") + " added to this view.");
    raiseAlerts(alerts);
    if (onQueue) showReload();
    if (news.length) say(news.join(" "));
  }

  // --- polling ----------------------------------------------------------------------------
  function liveUrl() {
    const params = new URLSearchParams();
    if (document.body.dataset.page === "queue") {
      new URLSearchParams(window.location.search).forEach(function (value, name) {
        if (!NOT_FILTERS.has(name)) params.set(name, value);
      });
    }
    params.set("since", String(cursor));
    return "/console/live?" + params.toString();
  }

  function schedule(ms) {
    window.clearTimeout(timer);
    timer = null;
    if (stopped || document.hidden) return;
    timer = window.setTimeout(poll, ms);
  }

  function stop(text) {
    stopped = true;
    window.clearTimeout(timer);
    say(text);
  }

  function poll() {
    timer = null;
    if (stopped || inFlight || document.hidden) return;
    inFlight = true;
    fetch(liveUrl(), { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (reply) {
        if (reply.status === 401 || reply.status === 403) {
          stop("Live updates stopped: your session has ended. Reload the page to sign in again.");
          return null;
        }
        if (!reply.ok) throw new Error("HTTP " + reply.status);
        return reply.json();
      })
      .then(function (body) {
        inFlight = false;
        if (!body) return;
        apply(body);
        delay = POLL_MS;
        schedule(body.more ? MORE_MS : POLL_MS);
      })
      .catch(function () {
        inFlight = false;
        delay = Math.min(delay * 2, MAX_POLL_MS);
        schedule(delay);
      });
  }

  function onVisibility() {
    if (document.hidden) { window.clearTimeout(timer); timer = null; }
    else schedule(0); // catch up at once on coming back
  }

  // --- the optional tone (Web Audio: no file to fetch) ------------------------------------
  function soundOn() { return stored("localStorage", SOUND_KEY) === "on"; }

  function audioContext() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }

  function beep() {
    if (!soundOn()) return;
    try {
      const context = audioContext();
      if (!context) return;
      const start = context.currentTime;
      [880, 660].forEach(function (pitch, i) {
        const tone = context.createOscillator();
        const gain = context.createGain();
        const at = start + i * 0.2;
        tone.frequency.value = pitch;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
        tone.connect(gain);
        gain.connect(context.destination);
        tone.start(at);
        tone.stop(at + 0.2);
      });
    } catch (error) { /* no sound: the banner is there anyway */ }
  }

  // Browsers start audio only after a user gesture: open it on the first one.
  function unlockAudio() {
    if (soundOn()) { try { audioContext(); } catch (error) { /* see beep() */ } }
  }

  function setUpPreferences() {
    const section = document.querySelector("[data-live-prefs]");
    const box = document.querySelector("[data-live-sound]");
    if (!section || !box) return;
    section.hidden = false;
    box.checked = soundOn();
    box.addEventListener("change", function () {
      store("localStorage", SOUND_KEY, box.checked ? "on" : "off");
      say(box.checked ? "Alert tone on." : "Alert tone off.");
      if (box.checked) beep(); // a sample, and this click lets the browser play it later
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpPreferences();
    const live = document.getElementById("live");
    if (!live) return;
    cursor = Number(live.dataset.liveCursor) || 0;
    seen = Number(live.dataset.liveSeen) || 0;
    document.addEventListener("click", function (event) {
      unlockAudio();
      if (event.target.closest("[data-live-dismiss]")) dismiss();
    });
    document.addEventListener("keydown", unlockAudio, { once: true });
    document.addEventListener("visibilitychange", onVisibility);
    schedule(POLL_MS);
  });
})();

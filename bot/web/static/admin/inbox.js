// The inbox: what the bot gets wrong, grouped by meaning, and the fixes an admin makes in place.
// Each fix is written to the KB files at once (validated; refused with file:line) and listed as
// pending until "Apply and reload" serves it. The agents' answers awaiting approval are below,
// drawn by admin.js. The texts come from the catalogue (i18n/i18n.js): a switch of language
// re-translates them in place, keeping what was ticked and typed.

import * as i18n from "../i18n/i18n.js";

var msg = i18n.msg;
var admin = window.DeskmateAdmin;
var requested = {};  // frame id -> what it was for
var intents = [];
var SHOWN = 50;  // messages listed per group

var $ = function (id) { return document.getElementById(id); };

// An element with the server's text, or the catalogue's when `text` is an i18n message.
function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null && typeof text === "object") i18n.text(node, text.key, text.params);
  else if (text != null) node.textContent = String(text);
  return node;
}

function ask(frame, what) {
  requested[admin.request(frame.type, frame)] = what;
}

function load() { ask({ type: "inbox" }, "load"); }

// The error line: the catalogue's text `key` with `params`, or nothing (key null).
function error(key, params) {
  if (key) i18n.text($("inbox-error"), key, params); else i18n.plain($("inbox-error"), "");
  $("inbox-error").hidden = !key;
}

function status(key, params) {
  if (key) i18n.text($("inbox-status"), key, params); else i18n.plain($("inbox-status"), "");
}

// Why a group's messages are here: "2 asked to rephrase · 1 thumbs-down", one span each.
function why(counts) {
  var line = el("p", "why");
  Object.keys(counts || {}).filter(function (k) { return counts[k]; }).forEach(function (k, i) {
    var key = "admin.inbox.why." + k;
    if (i) line.appendChild(document.createTextNode(" · "));
    line.appendChild(el("span", null, i18n.has(key) ? msg(key, { count: counts[k] })
                                                   : msg("admin.inbox.why.other", { count: counts[k], reason: k })));
  });
  return line;
}

function renderGroups(groups) {
  var box = $("inbox-groups");
  box.textContent = "";
  $("inbox-empty").hidden = groups.length > 0;
  groups.forEach(function (group) {
    var card = el("article", "group");
    card.setAttribute("data-group", group.id);
    var title = msg("admin.inbox.group.size", { count: group.size });
    if (group.intent) {
      title = msg("admin.inbox.group.leaned", {
        size: title, intent: group.intent,
        confidence: i18n.number(Math.round((group.confidence || 0) * 100) / 100, { style: "percent" })
      });
    }
    card.appendChild(el("h3", null, title));
    card.appendChild(why(group.reasons));
    // every message with a box: a fix applies to the ticked ones (all, or a single message)
    var list = el("ul", "messages");
    group.messages.slice(0, SHOWN).forEach(function (message, i) {
      var item = el("li");
      var label = el("label");
      var box = el("input");
      box.type = "checkbox";
      box.checked = true;
      box.setAttribute("data-index", String(i));
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + message.text));
      item.appendChild(label);
      list.appendChild(item);
    });
    card.appendChild(list);
    if (group.messages.length > SHOWN) {
      card.appendChild(el("p", "why", msg("admin.inbox.group.more", { count: group.messages.length - SHOWN })));
    }
    card.appendChild(fixRow(group, card));
    box.appendChild(card);
  });
}

function fixRow(group, card) {
  var row = el("div", "fix");
  var select = el("select");
  i18n.attr(select, "aria-label", "admin.fix.intent");
  intents.forEach(function (name) {
    var option = el("option", null, name);
    option.value = name;
    if (name === group.intent) option.selected = true;
    select.appendChild(option);
  });
  var add = el("button", null, msg("admin.fix.add"));
  add.type = "button";
  add.addEventListener("click", function () { fix(group, { action: "add_to_intent", intent: select.value }, card); });
  row.appendChild(select);
  row.appendChild(add);

  var name = el("input");
  i18n.attr(name, "placeholder", "admin.fix.name.placeholder");
  i18n.attr(name, "aria-label", "admin.fix.name");
  var response = el("input");
  i18n.attr(response, "placeholder", "admin.fix.response.placeholder");
  i18n.attr(response, "aria-label", "admin.fix.response");
  var create = el("button", "secondary", msg("admin.fix.new"));
  create.type = "button";
  create.addEventListener("click", function () {
    fix(group, { action: "new_intent", intent: name.value.trim(), response: response.value.trim() }, card);
  });
  row.appendChild(name);
  row.appendChild(response);
  row.appendChild(create);

  var scope = el("button", "secondary", msg("admin.fix.out_of_scope"));
  scope.type = "button";
  scope.addEventListener("click", function () { fix(group, { action: "out_of_scope" }, card); });
  var dismiss = el("button", "secondary", msg("admin.fix.dismiss"));
  dismiss.type = "button";
  dismiss.addEventListener("click", function () { fix(group, { action: "dismiss" }, card); });
  row.appendChild(scope);
  row.appendChild(dismiss);
  return row;
}

function fix(group, change, card) {
  error(null);
  var chosen = group.messages.filter(function (m, i) {
    var box = card.querySelector('input[type="checkbox"][data-index="' + i + '"]');
    return box ? box.checked : true;  // beyond the shown ones: included
  });
  if (!chosen.length) { error("admin.fix.none_ticked"); return; }
  var refs = chosen.map(function (m) { return { conversation: m.conversation, event: m.event }; });
  ask(Object.assign({ type: "fix", messages: refs }, change), group.id);
}

// What a change did, in words: "added to shipping_cost: “a”, “b” and 2 more".
function summary(change) {
  var key = "admin.change." + change.action;
  var what = i18n.has(key) ? msg(key, { intent: change.intent || "" })
                           : msg("admin.change.other", { action: change.action, intent: change.intent || "" });
  var texts = change.texts || [];
  if (!texts.length) return msg("admin.change.count", { what: what, count: (change.messages || []).length });
  var quoted = texts.slice(0, 3).map(function (text) { return msg("admin.change.quote", { text: text }); });
  if (texts.length > 3) return msg("admin.change.texts_more", { what: what, texts: i18n.list(quoted), count: texts.length - 3 });
  return msg("admin.change.texts", { what: what, texts: i18n.list(quoted) });
}

function renderChanges(changes) {
  var body = $("inbox-changes").querySelector("tbody");
  body.textContent = "";
  changes.forEach(function (change) {
    var row = el("tr");
    row.setAttribute("data-status", change.status);
    row.appendChild(el("td", null, msg("admin.time", { time: i18n.date(change.at, { dateStyle: "short", timeStyle: "medium" }) })));
    row.appendChild(el("td", null, change.admin));
    row.appendChild(el("td", null, summary(change)));
    var state = change.status === "applied" ? msg("admin.change.applied", { build: change.build })
      : i18n.has("admin.change.status." + change.status) ? msg("admin.change.status." + change.status) : change.status;
    row.appendChild(el("td", change.status, state));
    body.appendChild(row);
  });
  var pending = changes.filter(function (c) { return c.status === "pending"; }).length;
  $("inbox-apply").disabled = pending === 0;
  if (pending) i18n.text($("inbox-apply"), "admin.inbox.apply.count", { count: pending });
  else i18n.text($("inbox-apply"), "admin.inbox.apply");
}

admin.on("inbox", function (frame) {
  if (!requested[frame.id]) return;
  delete requested[frame.id];
  intents = frame.intents || [];
  renderGroups(frame.groups || []);
  renderChanges(frame.changes || []);
});
admin.on("fixed", function (frame) {
  if (!requested[frame.id]) return;
  delete requested[frame.id];
  status(frame.change.action === "dismiss" ? "admin.fix.dismissed" : "admin.fix.written");
  load();
});
admin.on("reload_done", function (frame) {
  if (!requested[frame.id]) return;
  delete requested[frame.id];
  $("inbox-apply").disabled = false;
  var record = frame.record || {};
  if (record.outcome === "serving") {
    status("admin.apply.serving", { build: record.build_id, count: (frame.applied || []).length });
  } else {
    var issues = (frame.issues || []).map(function (i) { return i.file + ":" + i.line + " " + i.message; }).join("; ");
    error("admin.apply.failed", { outcome: record.outcome, detail: issues || record.detail || "" });
  }
  load();
});
admin.on("error", function (frame) {
  if (!requested[frame.ref]) return;
  var what = requested[frame.ref];
  delete requested[frame.ref];
  if (what === "apply") $("inbox-apply").disabled = false;
  // kb_invalid: the KB's issues, file:line each
  var issues = (frame.issues || []).map(function (i) { return i.file + ":" + i.line + " " + i.message; }).join("; ");
  var shown = i18n.error("admin", frame, { issues: issues });
  error(shown[0], shown[1]);
});
admin.on("signed-in", load);

$("inbox-refresh").addEventListener("click", load);
$("inbox-apply").addEventListener("click", function () {
  error(null);
  status("admin.apply.building");
  $("inbox-apply").disabled = true;
  ask({ type: "apply" }, "apply");
});
document.addEventListener("deskmate-admin-tab", function (event) { if (event.detail === "inbox") load(); });

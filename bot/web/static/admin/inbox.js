// The inbox: what the bot gets wrong, grouped by meaning, and the fixes an admin makes in place.
// Each fix is written to the KB files at once (validated; refused with file:line) and listed as
// pending until "Apply and reload" serves it. The agents' answers awaiting approval are below,
// drawn by admin.js.

var admin = window.DeskmateAdmin;
var requested = {};  // frame id -> what it was for
var intents = [];
var SHOWN = 50;  // messages listed per group

var $ = function (id) { return document.getElementById(id); };

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

function ask(frame, what) {
  requested[admin.request(frame.type, frame)] = what;
}

function load() { ask({ type: "inbox" }, "load"); }

function error(text) {
  $("inbox-error").textContent = text || "";
  $("inbox-error").hidden = !text;
}

function status(text) { $("inbox-status").textContent = text || ""; }

function why(counts) {
  var words = { fallback: "asked to rephrase", unresolved_clarify: "clarification left unanswered",
                low_confidence: "handed off unsure", repeated_failure: "handed off after failures",
                thumbs_down: "thumbs-down" };
  return Object.keys(counts || {}).filter(function (k) { return counts[k]; })
    .map(function (k) { return counts[k] + " " + (words[k] || k); }).join(" · ");
}

function renderGroups(groups) {
  var box = $("inbox-groups");
  box.textContent = "";
  $("inbox-empty").hidden = groups.length > 0;
  groups.forEach(function (group) {
    var card = el("article", "group");
    card.setAttribute("data-group", group.id);
    var title = group.size + (group.size === 1 ? " message" : " messages");
    if (group.intent) title += " · the bot leaned to " + group.intent + " (" + Math.round((group.confidence || 0) * 100) + "%)";
    card.appendChild(el("h3", null, title));
    card.appendChild(el("p", "why", why(group.reasons)));
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
      card.appendChild(el("p", "why", "and " + (group.messages.length - SHOWN) + " more like these, included in a fix"));
    }
    card.appendChild(fixRow(group, card));
    box.appendChild(card);
  });
}

function fixRow(group, card) {
  var row = el("div", "fix");
  var select = el("select");
  select.setAttribute("aria-label", "Intent to add these messages to");
  intents.forEach(function (name) {
    var option = el("option", null, name);
    option.value = name;
    if (name === group.intent) option.selected = true;
    select.appendChild(option);
  });
  var add = el("button", null, "Add to intent");
  add.type = "button";
  add.addEventListener("click", function () { fix(group, { action: "add_to_intent", intent: select.value }, card); });
  row.appendChild(select);
  row.appendChild(add);

  var name = el("input");
  name.placeholder = "new_intent_name";
  name.setAttribute("aria-label", "New intent name");
  var response = el("input");
  response.placeholder = "The bot's answer";
  response.setAttribute("aria-label", "New intent's answer");
  var create = el("button", "secondary", "New intent");
  create.type = "button";
  create.addEventListener("click", function () {
    fix(group, { action: "new_intent", intent: name.value.trim(), response: response.value.trim() }, card);
  });
  row.appendChild(name);
  row.appendChild(response);
  row.appendChild(create);

  var scope = el("button", "secondary", "Out of scope");
  scope.type = "button";
  scope.addEventListener("click", function () { fix(group, { action: "out_of_scope" }, card); });
  var dismiss = el("button", "secondary", "Dismiss");
  dismiss.type = "button";
  dismiss.addEventListener("click", function () { fix(group, { action: "dismiss" }, card); });
  row.appendChild(scope);
  row.appendChild(dismiss);
  return row;
}

function fix(group, change, card) {
  error("");
  var chosen = group.messages.filter(function (m, i) {
    var box = card.querySelector('input[type="checkbox"][data-index="' + i + '"]');
    return box ? box.checked : true;  // beyond the shown ones: included
  });
  if (!chosen.length) { error("Tick at least one message to fix."); return; }
  var refs = chosen.map(function (m) { return { conversation: m.conversation, event: m.event }; });
  ask(Object.assign({ type: "fix", messages: refs }, change), group.id);
}

var ACTIONS = { add_to_intent: "added to", new_intent: "new intent", out_of_scope: "marked out of scope",
                dismiss: "dismissed" };

function summary(change) {
  var what = ACTIONS[change.action] || change.action;
  if (change.intent) what += " " + change.intent;
  var texts = change.texts || [];
  if (texts.length) what += ": “" + texts.slice(0, 3).join("”, “") + "”" + (texts.length > 3 ? " and " + (texts.length - 3) + " more" : "");
  else what += " (" + (change.messages || []).length + " messages)";
  return what;
}

function renderChanges(changes) {
  var body = $("inbox-changes").querySelector("tbody");
  body.textContent = "";
  changes.forEach(function (change) {
    var row = el("tr");
    row.setAttribute("data-status", change.status);
    row.appendChild(el("td", null, new Date(change.at).toLocaleString()));
    row.appendChild(el("td", null, change.admin));
    row.appendChild(el("td", null, summary(change)));
    row.appendChild(el("td", change.status, change.status === "applied" ? "applied in " + change.build : change.status));
    body.appendChild(row);
  });
  var pending = changes.filter(function (c) { return c.status === "pending"; }).length;
  $("inbox-apply").disabled = pending === 0;
  $("inbox-apply").textContent = pending ? "Apply and reload (" + pending + ")" : "Apply and reload";
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
  status(frame.change.action === "dismiss" ? "Dismissed." : "Written to the KB; apply and reload to serve it.");
  load();
});
admin.on("reload_done", function (frame) {
  if (!requested[frame.id]) return;
  delete requested[frame.id];
  $("inbox-apply").disabled = false;
  var record = frame.record || {};
  if (record.outcome === "serving") {
    status("Now serving " + record.build_id + ": " + (frame.applied || []).length + " change(s) applied.");
  } else {
    var issues = (frame.issues || []).map(function (i) { return i.file + ":" + i.line + " " + i.message; }).join("; ");
    error("The reload did not go through (" + record.outcome + "): " + (issues || record.detail) +
          ". The previous version keeps serving.");
  }
  load();
});
admin.on("error", function (frame) {
  if (!requested[frame.ref]) return;
  var what = requested[frame.ref];
  delete requested[frame.ref];
  if (what === "apply") $("inbox-apply").disabled = false;
  error(frame.message);
});
admin.on("signed-in", load);

$("inbox-refresh").addEventListener("click", load);
$("inbox-apply").addEventListener("click", function () {
  error("");
  status("Building and checking the new version…");
  $("inbox-apply").disabled = true;
  ask({ type: "apply" }, "apply");
});
document.addEventListener("deskmate-admin-tab", function (event) { if (event.detail === "inbox") load(); });

/* Deskmate agent console over /ws/agent (docs/protocol.md). Plain JS, no build step (an ES module).
   Every text from the server goes in with textContent, never as HTML; the console's own texts come
   from the catalogue of the chosen language (i18n/i18n.js) and are re-translated in place when the
   language switch changes it.
   Actions (claim, reply, hand_back, close) carry an id and stay in `unacked` until the server
   acknowledges them; after a reconnect they are sent again (the server stores a reply once). */
import * as i18n from "./i18n/i18n.js";

(function () {
  "use strict";

  var TOKEN_KEY = "deskmate.agent.token";
  var UNACKED_KEY = "deskmate.agent.unacked";
  var $ = function (id) { return document.getElementById(id); };
  var ws = null;
  var me = null;
  var current = null; // {id, state, agent}
  var seen = {}; // event ids shown for the current conversation
  var unacked = loadUnacked();
  var retry = 500;
  var typingTimer = null;
  var typingOn = false;
  var counter = 0;
  var labels = {};  // conversation id -> how the customer is named (a text or an i18n message)

  function loadUnacked() {
    try { return JSON.parse(sessionStorage.getItem(UNACKED_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveUnacked() { sessionStorage.setItem(UNACKED_KEY, JSON.stringify(unacked)); }
  function newId(prefix) {
    counter += 1;
    return prefix + "-" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2, 8);
  }
  // The error line: the catalogue's text `key` (with params), or nothing.
  function showError(key, params) {
    var box = $("console-error");
    if (key) i18n.text(box, key, params); else i18n.plain(box, "");
    box.hidden = !key;
  }
  function serverError(frame) { var shown = i18n.error("console", frame); showError(shown[0], shown[1]); }
  function raw(frame) { if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; } return false; }
  function act(frame) { frame.id = newId(frame.type); unacked.push(frame); saveUnacked(); raw(frame); }

  // An element with the server's text (as it is), or with the catalogue's text when `text` is an
  // i18n message ({key, params}: re-translated on a switch of language).
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null && typeof text === "object") i18n.text(node, text.key, text.params);
    else if (text != null) node.textContent = String(text);
    return node;
  }
  var msg = i18n.msg;

  // A word of ours for a code the server sent (`prefix` + code in the catalogue), else the code itself.
  function named(prefix, code, params) {
    return code && i18n.has(prefix + code) ? msg(prefix + code, params) : String(code || "");
  }

  function reasonLabel(reason, form) {
    if (reason === "form_failed") return form ? msg("console.reason.form_failed", { form: formLabel(form) }) : msg("console.reason.form_failed_unnamed");
    return named("console.reason.", reason);
  }

  // A handoff's reason, naming the form the customer was in (queue items and handoff events carry it).
  function handoffLabel(reason, form) {
    var label = reasonLabel(reason, form);
    return form && reason !== "form_failed" ? msg("console.reason.during", { reason: label, form: formLabel(form) }) : label;
  }

  function formLabel(name) { return String(name).replace(/_/g, " "); }
  function formName(name) { return name ? formLabel(name) : msg("console.form.unnamed"); }
  function statusLabel(status) { return named("console.form_status.", status); }
  function slotValue(value) { return typeof value === "string" ? value : JSON.stringify(value); }
  function slotList(slots) {
    return Object.keys(slots).map(function (name) { return name + " = " + slotValue(slots[name]); }).join(" · ");
  }
  function percent(share) { return i18n.number(Math.round((share || 0) * 100) / 100, { style: "percent" }); }

  function wait(seconds) {
    if (seconds < 60) return msg("time.seconds", { count: Math.round(seconds) });
    return msg("time.minutes", { count: Math.round(seconds / 60) });
  }

  // How the customer is named: their email or name, else "Visitor 4821" (in the console's language).
  function customerLabel(customer) {
    var visitor = /^Visitor (\d+)$/.exec(customer.label || "");
    if (visitor && !customer.email && !customer.name) return msg("console.customer.visitor", { digits: visitor[1] });
    return String(customer.label || "");
  }

  // ---------- queue and inbox ----------
  function renderQueue(frame) {
    i18n.text($("console-online"), "console.online", { count: frame.agents_online });
    $("console-online").hidden = false;
    var list = $("console-queue");
    list.textContent = "";
    frame.items.forEach(function (item) {
      var li = el("li");
      li.setAttribute("data-conversation", item.conversation_id);
      if (current && current.id === item.conversation_id) li.className = "selected";
      var head = item.state === "WAITING_FOR_AGENT"
        ? msg("console.queue.waiting", { wait: wait(item.waiting_seconds), reason: handoffLabel(item.reason, item.form) })
        : item.agent ? msg("console.queue.with", { agent: item.agent }) : msg("console.queue.with_someone");
      if (item.customer) {
        labels[item.conversation_id] = customerLabel(item.customer);
        li.appendChild(el("span", "who", labels[item.conversation_id]));
      }
      li.appendChild(el("span", "reason", head));
      li.appendChild(el("span", "preview", item.preview || msg("console.queue.no_message")));
      li.addEventListener("click", function () { open(item.conversation_id); });
      list.appendChild(li);
    });
    $("console-queue-empty").hidden = frame.items.length > 0;
  }

  function renderInbox(frame) {
    var list = $("console-inbox");
    list.textContent = "";
    frame.items.forEach(function (item) {
      var li = el("li");
      li.appendChild(el("span", "reason", msg("console.inbox.item", { email: item.email, at: i18n.date(item.at) })));
      li.appendChild(el("span", "preview", item.text));
      li.addEventListener("click", function () { open(item.conversation_id); });
      list.appendChild(li);
    });
  }

  // ---------- one conversation ----------
  function open(conversationId) {
    current = { id: conversationId, state: null, agent: null };
    seen = {};
    $("console-transcript").textContent = "";
    $("console-suggestions").textContent = "";
    renderTask(null);
    $("console-chat").hidden = false;
    showTitle(labels[conversationId] || msg("console.chat.untitled"));
    $("console-chat-title").title = conversationId;
    $("console-chat-customer").textContent = "";
    var queued = $("console-queue").children;
    for (var i = 0; i < queued.length; i++) {
      queued[i].className = queued[i].getAttribute("data-conversation") === conversationId ? "selected" : "";
    }
    raw({ type: "open", conversation_id: conversationId });
  }

  // Who the customer is: their email or name when the conversation has it, else "Visitor 4821";
  // when they started and the page they came from.
  function showTitle(label) {
    var title = $("console-chat-title");
    if (typeof label === "object") i18n.text(title, label.key, label.params); else i18n.plain(title, label);
  }

  function renderCustomer(customer) {
    if (!customer) return;
    labels[current.id] = customerLabel(customer);
    showTitle(labels[current.id]);
    var line = $("console-chat-customer");
    line.textContent = "";
    var parts = [];
    if (customer.started) {
      parts.push([el("span", null, msg("console.customer.started", {
        time: i18n.date(customer.started, { dateStyle: "medium", timeStyle: "short" })
      }))]);
    }
    if (customer.page) {
      // text to copy, never a link made from customer input
      parts.push([el("span", null, msg("console.customer.from")), document.createTextNode(" "), el("span", "page", customer.page)]);
    }
    if (customer.email && customer.name) parts.push([el("span", null, customer.name)]);
    parts.forEach(function (nodes, i) {
      if (i) line.appendChild(document.createTextNode(" · "));
      nodes.forEach(function (node) { line.appendChild(node); });
    });
  }

  function stateLabel(state, agent) {
    if (state === "WITH_AGENT") return msg("console.state.WITH_AGENT", { agent: agent || "" });
    return named("console.state.", state);
  }

  function setState(state, agent) {
    current.state = state;
    current.agent = agent;
    var mine = state === "WITH_AGENT" && me && agent === me.username;
    var label = stateLabel(state, agent);
    if (typeof label === "object") i18n.text($("console-chat-state"), label.key, label.params);
    else i18n.plain($("console-chat-state"), label);
    $("console-claim").disabled = state === "CLOSED" || state === "WITH_AGENT";
    $("console-hand-back").disabled = !mine;
    $("console-close").disabled = !mine;
    $("console-reply").disabled = !mine;
    $("console-send").disabled = !mine;
  }

  function addEvent(event) {
    if (seen[event.id]) return;
    seen[event.id] = true;
    var list = $("console-transcript");
    var item = null;
    if (event.kind === "customer_message") {
      item = el("li", "t-customer", event.text);
      item.setAttribute("data-id", event.id);
    } else if (event.kind === "bot_reply" || event.kind === "clarify") {
      item = el("li", "t-bot", event.text);
      item.setAttribute("data-id", event.id);
      if (event.intent) {
        item.appendChild(el("span", "meta", msg("console.event.bot_meta", {
          intent: event.intent, confidence: percent(event.confidence), rule: event.rule || event.source || ""
        })));
      }
      if (event.generation_withheld) {
        item.appendChild(el("span", "meta warn", msg("console.event.withheld", {
          failure: event.generation_withheld.failure, reason: event.generation_withheld.reason
        })));
      }
      if (event.generation_error) item.appendChild(el("span", "meta warn", msg("console.event.generation_failed")));
      if (event.asks) item.appendChild(el("span", "meta", msg("console.event.asks", { form: formName(event.form), slot: event.asks })));
      tagCustomerTurn(event);
    } else if (event.kind === "agent_message") {
      item = el("li", "t-agent", event.text);
      item.appendChild(el("span", "meta", event.display_name || event.agent));
    } else if (event.kind === "handoff") {
      item = el("li", "t-system t-handoff");  // its own span: a switch of language re-translates it, not its children
      item.appendChild(el("span", null, msg("console.event.handoff", { reason: handoffLabel(event.reason, event.form) })));
      if (event.collected && Object.keys(event.collected).length) {
        item.appendChild(el("span", "meta collected", msg("console.event.collected", { slots: slotList(event.collected) })));
      }
    } else if (event.kind === "form" && event.status && event.status !== "asking") {
      item = el("li", "t-system t-form", msg("console.event.form", { form: formName(event.form), status: statusLabel(event.status) }));
    } else if (event.kind === "agent_joined") {
      item = el("li", "t-system", msg("console.event.joined", { name: event.display_name || event.agent }));
    } else if (event.kind === "handed_back") {
      item = el("li", "t-system", msg("console.event.handed_back"));
    } else if (event.kind === "closed") {
      item = el("li", "t-system", event.by === "customer" ? msg("console.event.ended")
        : msg("console.event.closed", { name: event.display_name || event.agent }));
    } else if (event.kind === "feedback") {
      var rated = document.querySelector('#console-transcript li[data-id="' + CSS.escape(String(event.reply)) + '"]');
      item = el("li", "t-system t-feedback" + (event.value === "down" ? " warn" : ""),
                msg(event.value === "up" ? "console.event.helpful" : "console.event.unhelpful", {
                  quote: rated ? msg("console.event.quote", { text: rated.firstChild.textContent.slice(0, 80) }) : "",
                  comment: event.comment ? msg("console.event.comment", { text: event.comment }) : ""
                }));
    } else if (event.kind === "survey") {
      item = el("li", "t-system t-survey", msg("console.event.survey", {
        score: event.score, max: 5, comment: event.comment ? msg("console.event.comment", { text: event.comment }) : ""
      }));
    } else if (event.kind === "contact_request") {
      item = el("li", "t-system", msg("console.event.contact", { email: event.email, text: event.text }));
    } else if (event.kind === "suggestions") {
      tagCustomerTurn(event);
      renderSuggestions(event.items || []);
    } else if (event.kind === "state_changed") {
      setState(event.to, event.agent || (event.to === "WITH_AGENT" ? current.agent : null));
    }
    if (item) { list.appendChild(item); list.scrollTop = list.scrollHeight; }
  }

  // The Task panel: the conversation's form and slots (bot/core/task_view.py), whole in every frame.
  function renderTask(task) {
    task = task || {};
    var slots = task.slots || {};
    var names = Object.keys(slots);
    $("console-task").hidden = !task.form && names.length === 0;
    $("console-task-form").hidden = !task.form;
    $("console-task-name").textContent = task.form ? formLabel(task.form) : "";
    var status = task.form ? statusLabel(task.status) : "";
    if (typeof status === "object") i18n.text($("console-task-status"), status.key, status.params);
    else i18n.plain($("console-task-status"), status);
    // the question asked now, or the one the form ended on (failed: the customer got stuck on it)
    var asking = task.requested_slot || "";
    $("console-task-asking").hidden = !asking;
    i18n.text($("console-task-asking-label"),
      task.active ? "console.task.asking" : task.status === "failed" ? "console.task.stuck" : "console.task.was_asking");
    $("console-task-slot").textContent = asking;
    var notes = [];
    if (task.failures > 0) notes.push(msg("console.task.failures", { count: task.failures }));
    if (task.active && task.pending === "stop") notes.push(msg("console.task.pending_stop"));
    if (task.active && task.pending === "confirm") notes.push(msg("console.task.pending_confirm"));
    var note = $("console-task-note");
    note.textContent = "";
    notes.forEach(function (text, i) {
      if (i) note.appendChild(document.createTextNode(" · "));
      note.appendChild(el("span", null, text));
    });
    note.hidden = notes.length === 0;
    var body = $("console-task-slots").querySelector("tbody");
    body.textContent = "";
    names.forEach(function (name) {
      var row = el("tr");
      row.setAttribute("data-slot", name);
      row.appendChild(el("td", "slot", name));
      row.appendChild(el("td", "value", slotValue(slots[name])));
      body.appendChild(row);
    });
    $("console-task-slots").hidden = names.length === 0;
  }

  function tagCustomerTurn(event) {
    if (!event.reply_to || !event.intent) return;
    var turn = document.querySelector('#console-transcript li[data-id="' + CSS.escape(event.reply_to) + '"]');
    if (turn && !turn.querySelector(".meta")) {
      turn.appendChild(el("span", "meta", msg("console.event.intent", { intent: event.intent, confidence: percent(event.confidence) })));
    }
  }

  function renderSuggestions(items) {
    var box = $("console-suggestions");
    box.textContent = "";
    items.forEach(function (suggestion) {
      var row = el("div", "suggestion");
      var body = el("span", "text", suggestion.text);
      var blanks = suggestion.placeholders || [];
      if (blanks.length) {
        body.appendChild(el("span", "meta warn", msg("console.suggestion.blanks", {
          names: blanks.map(function (n) { return "{" + n + "}"; }).join(", ")
        })));
      }
      if (suggestion.case_specific) {
        body.appendChild(el("span", "meta warn", msg("console.suggestion.case_specific")));
      }
      row.appendChild(body);
      var send = el("button", "use-send", msg("console.suggestion.send"));
      send.type = "button";
      send.disabled = blanks.length > 0;  // a placeholder never reaches the customer
      if (blanks.length) i18n.attr(send, "title", "console.suggestion.send.blanks");
      send.addEventListener("click", function () { sendReply(suggestion.text); });
      var edit = el("button", "secondary use-edit", msg("console.suggestion.edit"));
      edit.type = "button";
      edit.addEventListener("click", function () { $("console-reply").value = suggestion.text; $("console-reply").focus(); });
      row.appendChild(send);
      row.appendChild(edit);
      box.appendChild(row);
    });
  }

  function sendReply(text) {
    if (!current || !text.trim()) return;
    var blank = /\{[A-Za-z_][A-Za-z0-9_]*\}/.exec(text);
    if (blank) {  // a suggestion's placeholder left in: the customer would see it
      showError("console.reply.blank", { placeholder: blank[0] });
      $("console-reply").value = text;
      return;
    }
    act({ type: "reply", conversation_id: current.id, text: text.trim() });
    $("console-reply").value = "";
    $("console-suggestions").textContent = "";
    stopTyping();
  }

  function stopTyping() {
    if (typingOn && current) raw({ type: "typing", conversation_id: current.id, on: false });
    typingOn = false;
  }

  // ---------- connection ----------
  function onFrame(frame) {
    if (frame.type === "authed") {
      me = frame.agent;
      retry = 500;
      sessionStorage.setItem(TOKEN_KEY, frame.token);
      $("console-signin").hidden = true;
      $("console-main").hidden = false;
      $("console-logout").hidden = false;
      $("console-who").textContent = me.display_name;
      $("console-who").hidden = false;
      showError(null);
      unacked.forEach(function (f) { raw(f); });
      if (current) open(current.id);
    } else if (frame.type === "queue") {
      renderQueue(frame);
    } else if (frame.type === "inbox") {
      renderInbox(frame);
    } else if (frame.type === "transcript") {
      if (!current || frame.conversation_id !== current.id) return;
      var holder = null;
      frame.events.forEach(function (event) { if (event.kind === "agent_joined") holder = event.agent; if (event.kind === "handed_back" || event.kind === "closed") holder = null; });
      current.agent = holder;
      renderCustomer(frame.customer);
      setState(frame.state, holder);
      frame.events.forEach(addEvent);
      renderTask(frame.task);
    } else if (frame.type === "event") {
      if (current && frame.conversation_id === current.id) addEvent(frame.event);
    } else if (frame.type === "task") {
      if (current && frame.conversation_id === current.id) renderTask(frame.task);
    } else if (frame.type === "typing") {
      if (current && frame.conversation_id === current.id) $("console-typing").hidden = !frame.on;
    } else if (frame.type === "ack") {
      unacked = unacked.filter(function (f) { return f.id !== frame.id; });
      saveUnacked();
    } else if (frame.type === "export") {
      var blob = new Blob([JSON.stringify(frame.transcript, null, 2)], { type: "application/json" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = frame.transcript.conversation_id + ".json";
      link.id = "console-export-link";
      document.body.appendChild(link);
      link.click();
    } else if (frame.type === "error") {
      if (frame.ref) { unacked = unacked.filter(function (f) { return f.id !== frame.ref; }); saveUnacked(); }
      if (frame.code === "session_expired" || frame.code === "unauthorized") {
        sessionStorage.removeItem(TOKEN_KEY);
        $("console-signin").hidden = false;
        $("console-main").hidden = true;
      }
      serverError(frame);
    }
  }

  function connect(first) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws/agent");
    ws.onopen = function () { ws.send(JSON.stringify(first)); };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    };
    ws.onclose = function () {
      var token = sessionStorage.getItem(TOKEN_KEY);
      if (!token || !me) return;
      showError("console.reconnecting");
      setTimeout(function () { connect({ type: "auth", token: token }); }, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  $("console-signin").addEventListener("submit", function (event) {
    event.preventDefault();
    showError(null);
    var first = { type: "login", username: $("console-username").value, password: $("console-password").value };
    $("console-password").value = "";
    i18n.start().then(function () { connect(first); });  // its answers are shown in words of the catalogue
  });
  $("console-claim").addEventListener("click", function () { if (current) act({ type: "claim", conversation_id: current.id }); });
  $("console-hand-back").addEventListener("click", function () { if (current) act({ type: "hand_back", conversation_id: current.id }); });
  $("console-close").addEventListener("click", function () { if (current) act({ type: "close", conversation_id: current.id }); });
  $("console-export").addEventListener("click", function () { if (current) raw({ type: "export", conversation_id: current.id }); });
  $("console-inbox-refresh").addEventListener("click", function () { raw({ type: "inbox" }); });
  $("console-logout").addEventListener("click", function () {
    raw({ type: "logout" });
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
    location.reload();
  });
  $("console-reply-form").addEventListener("submit", function (event) {
    event.preventDefault();
    sendReply($("console-reply").value);
  });
  $("console-reply").addEventListener("input", function () {
    if (!current) return;
    if (!typingOn) { typingOn = true; raw({ type: "typing", conversation_id: current.id, on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 2500);
  });

  // the texts first (the language switch, then the page), then the saved session, if any
  i18n.switcher($("console-lang"));
  i18n.start().then(function () {
    i18n.attach(document.documentElement);
    var saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) { me = { username: "", display_name: "" }; connect({ type: "auth", token: saved }); }
  });
})();

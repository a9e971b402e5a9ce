/* Deskmate agent console over /ws/agent (docs/protocol.md). Plain JS, no build step.
   Every text from the server goes in with textContent, never as HTML.
   Actions (claim, reply, hand_back, close) carry an id and stay in `unacked` until the server
   acknowledges them; after a reconnect they are sent again (the server stores a reply once). */
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

  function loadUnacked() {
    try { return JSON.parse(sessionStorage.getItem(UNACKED_KEY) || "[]"); } catch (e) { return []; }
  }
  function saveUnacked() { sessionStorage.setItem(UNACKED_KEY, JSON.stringify(unacked)); }
  function newId(prefix) {
    counter += 1;
    return prefix + "-" + Date.now().toString(36) + "-" + counter + "-" + Math.random().toString(36).slice(2, 8);
  }
  function showError(text) { var box = $("console-error"); box.textContent = text || ""; box.hidden = !text; }
  function raw(frame) { if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; } return false; }
  function act(frame) { frame.id = newId(frame.type); unacked.push(frame); saveUnacked(); raw(frame); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  function reasonLabel(reason, form) {
    if (reason === "form_failed") return "couldn't complete " + (form ? formLabel(form) : "a form");
    return {
      low_confidence: "low confidence", explicit_request: "asked for a person",
      repeated_failure: "repeated failure", ambiguous: "still ambiguous", action: "action"
    }[reason] || (reason || "");
  }

  // A handoff's reason, naming the form the customer was in (queue items and handoff events carry it).
  function handoffLabel(reason, form) {
    var during = form && reason !== "form_failed" ? " (during " + formLabel(form) + ")" : "";
    return reasonLabel(reason, form) + during;
  }

  function formLabel(name) { return String(name).replace(/_/g, " "); }
  function statusLabel(status) {
    return {
      started: "started", asking: "in progress", completed: "completed", cancelled: "cancelled",
      failed: "failed", switched: "left for another form", handed_off: "handed to a person"
    }[status] || (status || "");
  }
  function slotValue(value) { return typeof value === "string" ? value : JSON.stringify(value); }
  function slotList(slots) {
    return Object.keys(slots).map(function (name) { return name + " = " + slotValue(slots[name]); }).join(" · ");
  }

  function wait(seconds) {
    if (seconds < 60) return Math.round(seconds) + " s";
    return Math.round(seconds / 60) + " min";
  }

  // ---------- queue and inbox ----------
  function renderQueue(frame) {
    $("console-online").textContent = frame.agents_online + (frame.agents_online === 1 ? " agent online" : " agents online");
    $("console-online").hidden = false;
    var list = $("console-queue");
    list.textContent = "";
    frame.items.forEach(function (item) {
      var li = el("li");
      li.setAttribute("data-conversation", item.conversation_id);
      if (current && current.id === item.conversation_id) li.className = "selected";
      var head = item.state === "WAITING_FOR_AGENT"
        ? "Waiting " + wait(item.waiting_seconds) + " · " + handoffLabel(item.reason, item.form)
        : "With " + (item.agent || "an agent");
      if (item.customer) li.appendChild(el("span", "who", item.customer.label));
      li.appendChild(el("span", "reason", head));
      li.appendChild(el("span", "preview", item.preview || "(no message yet)"));
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
      li.appendChild(el("span", "reason", item.email + " · " + item.at));
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
    var queuedItem = document.querySelector('#console-queue li[data-conversation="' + CSS.escape(conversationId) + '"] .who');
    $("console-chat-title").textContent = queuedItem ? queuedItem.textContent : "Conversation";
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
  function renderCustomer(customer) {
    if (!customer) return;
    $("console-chat-title").textContent = customer.label;
    var line = $("console-chat-customer");
    line.textContent = "";
    if (customer.started) {
      var started = new Date(customer.started);
      line.appendChild(el("span", null, "Started " + started.toLocaleString([], { dateStyle: "medium", timeStyle: "short" })));
    }
    if (customer.page) {
      line.appendChild(document.createTextNode(" · from "));
      line.appendChild(el("span", "page", customer.page)); // text to copy, never a link made from customer input
    }
    if (customer.email && customer.name) line.appendChild(document.createTextNode(" · " + customer.name));
  }

  function stateLabel(state, agent) {
    if (state === "WITH_AGENT") return "with " + agent;
    return { BOT: "with the bot", WAITING_FOR_AGENT: "waiting for an agent", CLOSED: "closed" }[state] || String(state);
  }

  function setState(state, agent) {
    current.state = state;
    current.agent = agent;
    var mine = state === "WITH_AGENT" && me && agent === me.username;
    $("console-chat-state").textContent = stateLabel(state, agent);
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
        item.appendChild(el("span", "meta", "bot · " + event.intent + " " + Math.round((event.confidence || 0) * 100) + "% · " + (event.rule || event.source || "")));
      }
      if (event.generation_withheld) {
        item.appendChild(el("span", "meta warn", "generated reply withheld (" + event.generation_withheld.failure + "): " + event.generation_withheld.reason));
      }
      if (event.generation_error) item.appendChild(el("span", "meta warn", "generation failed; answered by the next rule instead"));
      if (event.asks) item.appendChild(el("span", "meta", (event.form ? formLabel(event.form) : "form") + " · asks for " + event.asks));
      tagCustomerTurn(event);
    } else if (event.kind === "agent_message") {
      item = el("li", "t-agent", event.text);
      item.appendChild(el("span", "meta", event.display_name || event.agent));
    } else if (event.kind === "handoff") {
      item = el("li", "t-system t-handoff", "Handed off: " + handoffLabel(event.reason, event.form));
      if (event.collected && Object.keys(event.collected).length) {
        item.appendChild(el("span", "meta collected", "collected: " + slotList(event.collected)));
      }
    } else if (event.kind === "form" && event.status && event.status !== "asking") {
      item = el("li", "t-system t-form", (event.form ? formLabel(event.form) : "form") + ": " + statusLabel(event.status));
    } else if (event.kind === "agent_joined") {
      item = el("li", "t-system", (event.display_name || event.agent) + " joined");
    } else if (event.kind === "handed_back") {
      item = el("li", "t-system", "Back with the assistant");
    } else if (event.kind === "closed") {
      item = el("li", "t-system", event.by === "customer" ? "The customer ended the chat" : "Closed by " + (event.display_name || event.agent));
    } else if (event.kind === "feedback") {
      var rated = document.querySelector('#console-transcript li[data-id="' + CSS.escape(String(event.reply)) + '"]');
      item = el("li", "t-system t-feedback" + (event.value === "down" ? " warn" : ""),
                (event.value === "up" ? "👍 The customer found this answer helpful" : "👎 The customer found this answer unhelpful") +
                (rated ? ": “" + rated.firstChild.textContent.slice(0, 80) + "”" : "") +
                (event.comment ? " — " + event.comment : ""));
    } else if (event.kind === "survey") {
      item = el("li", "t-system t-survey", "The customer rated the chat " + event.score + " of 5" + (event.comment ? " — " + event.comment : ""));
    } else if (event.kind === "contact_request") {
      item = el("li", "t-system", "Left a message for follow-up: " + event.email + " — " + event.text);
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
    $("console-task-status").textContent = task.form ? statusLabel(task.status) : "";
    // the question asked now, or the one the form ended on (failed: the customer got stuck on it)
    var asking = task.requested_slot || "";
    $("console-task-asking").hidden = !asking;
    $("console-task-asking-label").textContent = task.active ? "Asking for" : task.status === "failed" ? "Stuck on" : "Was asking for";
    $("console-task-slot").textContent = asking;
    var notes = [];
    if (task.failures > 0) notes.push(task.failures + (task.failures === 1 ? " failed answer" : " failed answers") + " to this question");
    if (task.active && task.pending === "stop") notes.push("the customer asked to stop: waiting for their yes or no");
    if (task.active && task.pending === "confirm") notes.push("waiting for the customer to confirm");
    $("console-task-note").textContent = notes.join(" · ");
    $("console-task-note").hidden = notes.length === 0;
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
      turn.appendChild(el("span", "meta", event.intent + " · " + Math.round((event.confidence || 0) * 100) + "%"));
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
        body.appendChild(el("span", "meta warn", "fill in " + blanks.map(function (n) { return "{" + n + "}"; }).join(", ") + " before sending"));
      }
      if (suggestion.case_specific) {
        body.appendChild(el("span", "meta warn", "reports an action done for another customer: do it first"));
      }
      row.appendChild(body);
      var send = el("button", "use-send", "Send");
      send.type = "button";
      send.disabled = blanks.length > 0;  // a placeholder never reaches the customer
      if (blanks.length) send.title = "Edit it first: fill in the placeholders";
      send.addEventListener("click", function () { sendReply(suggestion.text); });
      var edit = el("button", "secondary use-edit", "Edit");
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
      showError("Fill in " + blank[0] + " before sending.");
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
      showError("");
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
      showError(frame.message);
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
      showError("Connection lost; reconnecting…");
      setTimeout(function () { connect({ type: "auth", token: token }); }, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  $("console-signin").addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    connect({ type: "login", username: $("console-username").value, password: $("console-password").value });
    $("console-password").value = "";
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

  var saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) { me = { username: "", display_name: "" }; connect({ type: "auth", token: saved }); }
})();

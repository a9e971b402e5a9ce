/*
 * Deskmate customer chat widget. Plain JS, no build step, no dependencies.
 * Embed: <script src="http://HOST:PORT/widget.js" data-title="Shop support" defer></script>
 *   data-server="ws://other:port" overrides the websocket base (default: host of the script src).
 *
 * Protocol summary (docs/protocol.md), one JSON object per text frame on ws://HOST:PORT/ws/customer:
 *   client -> server
 *     {type:"hello", session: token|null}              first frame; null starts a new conversation
 *     {type:"message", id, text, intent?}              id unique per conversation (1-64 chars),
 *                                                      text 1-2000 chars; intent only from clarify
 *                                                      options and {title, intent} reply buttons
 *   server -> client
 *     welcome {session, conversation_id, state, history[]}   history items:
 *             {id, role: customer|bot|system, text, kind: message|reply|clarify|handoff, at, options?}
 *     ack     {id}                                     customer message stored (resends are deduped)
 *     reply   {id, reply_to, text, source, intent, confidence}
 *     clarify {id, reply_to, text, options:[{intent,label}]}
 *     handoff {id, reply_to, text, reason}             a person takes over; the bot stops answering
 *     state   {state}                                  BOT | WAITING_FOR_AGENT | WITH_AGENT | CLOSED
 *     queue   {position, agents_online}                while waiting for a person
 *     agent_joined {id, name} / agent_message {id, text, name} / handed_back {id} / closed {id}
 *     typing  {on, name}                               an agent is typing
 *   client -> server (also)
 *     {type:"typing", on}                              while chatting with an agent
 *     {type:"contact", id, email, text}                nobody online: leave a message (acked by id)
 *     error   {code, message, ref}                     session_unknown => forget token, hello null
 *
 * Test hooks: window.Deskmate = {open(), close(), send(text)}. All text goes in via textContent.
 */
(function () {
  "use strict";
  if (window.Deskmate) return; // embedded twice: keep the first instance

  var SCRIPT = document.currentScript ||
    document.querySelector('script[src*="widget.js"]');
  var TOKEN_KEY = "deskmate.session";
  var MAX_LEN = 2000;
  var HANDOFF_DEFAULT = "You're being connected to a person from our team.";

  // ---------- configuration from the script tag ----------
  var scriptUrl = new URL((SCRIPT && SCRIPT.src) || "/widget.js", location.href);
  var title = (SCRIPT && SCRIPT.getAttribute("data-title")) || "Support";

  function wsUrl() {
    var override = SCRIPT && SCRIPT.getAttribute("data-server");
    if (override) {
      var base = override.trim().replace(/^http/, "ws").replace(/\/+$/, "");
      return /\/ws\/customer$/.test(base) ? base : base + "/ws/customer";
    }
    var proto = scriptUrl.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + scriptUrl.host + "/ws/customer";
  }

  function loadCss() {
    var href = new URL("widget.css", scriptUrl).href;
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) if (links[i].href === href) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    document.head.appendChild(link);
  }

  // ---------- small helpers ----------
  function newId() {
    if (window.crypto && typeof crypto.randomUUID === "function") return "m-" + crypto.randomUUID();
    return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }
  function getToken() { try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
  function setToken(t) { try { localStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode */ } }
  function dropToken() { try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ } }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (text != null) node.textContent = String(text);
    return node;
  }

  // ---------- DOM ----------
  var ui = {};

  function buildUi() {
    var root = el("div", { id: "deskmate-root" });

    var launcher = el("button", {
      id: "deskmate-launcher", type: "button",
      "aria-controls": "deskmate-panel", "aria-expanded": "false"
    }, "Chat with us");

    var panel = el("section", {
      id: "deskmate-panel", role: "dialog", "aria-label": title,
      "data-state": "BOT", "data-open": "false", hidden: ""
    });

    var header = el("header", { "class": "deskmate-header" });
    var heading = el("div", { "class": "deskmate-heading" });
    heading.appendChild(el("h2", { "class": "deskmate-title" }, title));
    var status = el("span", { id: "deskmate-status", role: "status", "data-status": "connecting" }, "Connecting…");
    heading.appendChild(status);
    var closeBtn = el("button", { id: "deskmate-close", type: "button", "aria-label": "Close chat" }, "×");
    header.appendChild(heading);
    header.appendChild(closeBtn);

    var messages = el("div", {
      id: "deskmate-messages", role: "log", "aria-live": "polite", "aria-relevant": "additions"
    });

    var form = el("form", { id: "deskmate-form", autocomplete: "off" });
    var label = el("label", { "for": "deskmate-input", "class": "deskmate-visually-hidden" }, "Your message");
    var input = el("input", {
      id: "deskmate-input", type: "text", name: "message", maxlength: String(MAX_LEN),
      placeholder: "Type your message…", "aria-label": "Your message"
    });
    var sendBtn = el("button", { id: "deskmate-send", type: "submit", "aria-label": "Send message" }, "Send");
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(sendBtn);

    panel.appendChild(header);
    panel.appendChild(messages);
    panel.appendChild(form);
    root.appendChild(panel);
    root.appendChild(launcher);
    document.body.appendChild(root);

    launcher.addEventListener("click", function () { isOpen() ? close() : open(); });
    closeBtn.addEventListener("click", close);
    // Enter in the input submits the form (implicit submission); empty input is ignored.
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (send(input.value) !== null) input.value = "";
      input.focus();
    });
    input.addEventListener("input", function () { customerTyping(); });
    panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") close(); });

    ui = { root: root, launcher: launcher, panel: panel, status: status,
           messages: messages, input: input, sendBtn: sendBtn };
  }

  function isOpen() { return ui.panel && !ui.panel.hasAttribute("hidden"); }
  function open() {
    if (!ui.panel) return;
    ui.panel.removeAttribute("hidden");
    ui.panel.setAttribute("data-open", "true");
    ui.launcher.setAttribute("aria-expanded", "true");
    scrollDown();
    ui.input.focus();
  }
  function close() {
    if (!ui.panel) return;
    ui.panel.setAttribute("hidden", "");
    ui.panel.setAttribute("data-open", "false");
    ui.launcher.setAttribute("aria-expanded", "false");
  }

  function setStatus(key, text) {
    ui.status.textContent = text;
    ui.status.setAttribute("data-status", key);
  }
  function setState(state) { if (state) ui.panel.setAttribute("data-state", String(state)); }
  function scrollDown() { ui.messages.scrollTop = ui.messages.scrollHeight; }

  function findMsg(id) {
    if (id == null) return null;
    var nodes = ui.messages.querySelectorAll(".deskmate-msg[data-id]");
    for (var i = 0; i < nodes.length; i++) if (nodes[i].getAttribute("data-id") === String(id)) return nodes[i];
    return null;
  }

  // Append one message bubble. role: customer | bot | system; extra: extra class names.
  function addMsg(role, text, id, extra) {
    if (id != null && findMsg(id)) return null; // never render the same id twice
    var node = el("div", { "class": "deskmate-msg deskmate-" + role + (extra ? " " + extra : "") });
    if (id != null) node.setAttribute("data-id", String(id));
    node.appendChild(el("div", { "class": "deskmate-text" }, text == null ? "" : text));
    ui.messages.appendChild(node);
    scrollDown();
    return node;
  }

  // Bot message with clarification buttons; `active` false renders them disabled (old history).
  // An option without an intent (a form question's {title, value} button) sends its label as a
  // plain message: the server reads it as the answer to the question.
  function addClarify(id, text, options, active) {
    var node = addMsg("bot", text, id, "deskmate-clarify");
    if (!node) return;
    var box = el("div", { "class": "deskmate-options", role: "group", "aria-label": "Choose an option" });
    (options || []).forEach(function (opt) {
      var intent = typeof opt.intent === "string" && opt.intent ? opt.intent : null;
      var b = el("button", { type: "button", "class": "deskmate-option" }, opt.label);
      if (intent) b.setAttribute("data-intent", intent);
      if (!active) b.disabled = true;
      b.addEventListener("click", function () {
        var btns = box.querySelectorAll(".deskmate-option");
        for (var i = 0; i < btns.length; i++) btns[i].disabled = true;
        b.classList.add("deskmate-chosen");
        send(opt.label, intent);
      });
      box.appendChild(b);
    });
    node.appendChild(box);
    scrollDown();
  }

  // A generated reply arrives as deltas into one bubble, then the stored reply replaces its text.
  function streamNode(stream) {
    var nodes = ui.messages.querySelectorAll(".deskmate-streaming");
    for (var i = 0; i < nodes.length; i++) if (nodes[i].getAttribute("data-stream") === String(stream)) return nodes[i];
    return null;
  }
  function onDelta(f) {
    var node = streamNode(f.stream);
    if (!node) {
      node = addMsg("bot", "", null, "deskmate-streaming");
      if (!node) return;
      node.setAttribute("data-stream", String(f.stream));
    }
    var text = node.querySelector(".deskmate-text");
    text.textContent += String(f.text == null ? "" : f.text);
    scrollDown();
  }
  // A withheld generation answered otherwise (a clarification, a handoff): what was streamed goes.
  function dropStream(f) {
    var node = f.stream ? streamNode(f.stream) : null;
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }
  function finishStream(f) {
    if (!f.stream) return false;
    var node = streamNode(f.stream);
    if (!node) return false;
    node.querySelector(".deskmate-text").textContent = f.text;
    node.classList.remove("deskmate-streaming");
    node.setAttribute("data-id", String(f.id));
    return true;
  }

  // A bot reply, with its buttons: each sends its title, as a message of the button's intent if it
  // has one ({title, intent}), else as a plain message ({title, value}: a form question's answer).
  function addReply(id, text, buttons, active) {
    if (!buttons || !buttons.length) { addMsg("bot", text, id); return; }
    addClarify(id, text, buttons.map(function (b) { return { intent: b.intent, label: b.title }; }), active);
  }

  function addHandoff(id, text) {
    addMsg("system", text || HANDOFF_DEFAULT, id, "deskmate-handoff");
  }

  // ---------- people ----------
  function addAgentMsg(id, text, name) {
    var node = addMsg("agent", text, id);
    if (node && name) node.insertBefore(el("div", { "class": "deskmate-name" }, name), node.firstChild);
  }

  function systemText(kind, name) {
    var who = name || "Someone from our team";
    if (kind === "agent_joined") return who + " joined the chat.";
    if (kind === "handed_back") return "You're back with the assistant.";
    if (kind === "closed") return who + " closed the chat. Thanks for getting in touch!";
    return "";
  }

  function addNotice(kind, id, name) {
    addMsg("system", systemText(kind, name), id, "deskmate-" + kind.replace("_", "-"));
    if (kind === "agent_joined") setStatus("agent", "Chatting with " + (name || "our team"));
    if (kind === "handed_back" || kind === "closed") { setStatus("online", "Online"); clearQueue(); }
  }

  function clearQueue() {
    var box = document.getElementById("deskmate-queue");
    if (box) box.parentNode.removeChild(box);
  }

  // Where the customer stands while waiting; with nobody online, a form to leave an email.
  function onQueue(f) {
    if (ui.panel.getAttribute("data-state") !== "WAITING_FOR_AGENT") return;
    var box = document.getElementById("deskmate-queue");
    if (!box) {
      box = el("div", { id: "deskmate-queue", "class": "deskmate-msg deskmate-system", role: "status" });
      ui.messages.appendChild(box);
    }
    box.textContent = "";
    if (!f.agents_online) {
      box.appendChild(el("div", { "class": "deskmate-text" },
        "No one from our team is online right now. Leave your email and a message and we'll get back to you."));
      if (!contactSent) box.appendChild(contactForm());
    } else {
      box.appendChild(el("div", { "class": "deskmate-text" },
        "Connecting you to a person… You're number " + (f.position || 1) + " in the queue."));
    }
    scrollDown();
  }

  var contactSent = false;
  function contactForm() {
    var form = el("form", { id: "deskmate-contact", "class": "deskmate-contact" });
    var email = el("input", { id: "deskmate-contact-email", type: "email", required: "", maxlength: "254",
                              placeholder: "you@example.com", "aria-label": "Your email" });
    var text = el("textarea", { id: "deskmate-contact-text", required: "", maxlength: String(MAX_LEN), rows: "3",
                                placeholder: "How can we help?", "aria-label": "Your message" });
    var button = el("button", { type: "submit", id: "deskmate-contact-send" }, "Send");
    form.appendChild(email);
    form.appendChild(text);
    form.appendChild(button);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var m = { id: newId(), contact: true, email: email.value.trim(), text: text.value.trim() };
      if (!m.email || !m.text) return;
      pending.push(m);
      savePending();
      contactSent = true;
      form.parentNode.removeChild(form);
      addMsg("system", "Thanks! We'll reply to " + m.email + " as soon as we can.", m.id, "deskmate-contact-done deskmate-pending");
      if (ready) transmit(m);
    });
    return form;
  }

  var typingBox = null;
  function onTyping(f) {
    if (!typingBox) {
      typingBox = el("div", { id: "deskmate-typing", "class": "deskmate-typing", "aria-live": "polite" });
      ui.panel.insertBefore(typingBox, ui.panel.querySelector("#deskmate-form"));
    }
    typingBox.textContent = f.on ? (f.name || "Our team") + " is typing…" : "";
  }

  var typingSent = false;
  var typingTimer = null;
  function customerTyping() {
    if (ui.panel.getAttribute("data-state") !== "WITH_AGENT" || !ready) return;
    if (!typingSent) { typingSent = true; rawSend({ type: "typing", on: true }); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingSent = false; rawSend({ type: "typing", on: false }); }, 2500);
  }

  // ---------- connection ----------
  var ws = null;
  var ready = false;           // true between welcome and close: messages may be sent
  var backoff = 500;           // ms, doubles up to 10 s
  var reconnectTimer = null;
  // unacknowledged outgoing {id, text, intent?} or {id, contact, email, text}, oldest first;
  // kept in localStorage so a reload or a closed laptop lid loses nothing
  var PENDING_KEY = "deskmate.pending";
  var pending = loadPending();
  function loadPending() {
    try { var p = JSON.parse(localStorage.getItem(PENDING_KEY) || "[]"); return Array.isArray(p) ? p : []; }
    catch (e) { return []; }
  }
  function savePending() { try { localStorage.setItem(PENDING_KEY, JSON.stringify(pending)); } catch (e) { /* ignore */ } }

  function isPending(id) { return pending.some(function (m) { return m.id === id; }); }

  function rawSend(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(obj)); return true; }
    return false;
  }
  function transmit(m) {
    if (m.contact) { rawSend({ type: "contact", id: m.id, email: m.email, text: m.text }); return; }
    var frame = { type: "message", id: m.id, text: m.text };
    if (m.intent) frame.intent = m.intent;
    rawSend(frame);
  }
  function hello() { rawSend({ type: "hello", session: getToken() || null }); }

  function connect() {
    clearTimeout(reconnectTimer);
    ready = false;
    var sock;
    try { sock = new WebSocket(wsUrl()); } catch (e) { scheduleReconnect(); return; }
    ws = sock;
    sock.onopen = function () { if (ws === sock) hello(); };
    sock.onmessage = function (ev) {
      if (ws !== sock) return;
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data && typeof data === "object") handle(data);
    };
    sock.onclose = function () {
      if (ws !== sock) return;
      ws = null;
      ready = false;
      scheduleReconnect();
    };
    sock.onerror = function () { /* onclose follows and reconnects */ };
  }

  function scheduleReconnect() {
    setStatus("reconnecting", "Reconnecting…");
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, backoff);
    backoff = Math.min(backoff * 2, 10000);
  }

  function handle(f) {
    switch (f.type) {
      case "welcome": onWelcome(f); break;
      case "ack": onAck(f.id); break;
      case "reply": if (!finishStream(f)) addReply(f.id, f.text, f.buttons, true); break;
      case "reply_delta": onDelta(f); break;
      case "clarify": dropStream(f); addClarify(f.id, f.text, f.options, true); break;
      case "handoff": dropStream(f); addHandoff(f.id, f.text); break;
      case "state": setState(f.state); if (f.state !== "WAITING_FOR_AGENT") clearQueue(); break;
      case "agent_joined": addNotice("agent_joined", f.id, f.name); break;
      case "agent_message": addAgentMsg(f.id, f.text, f.name); onTyping({ on: false }); break;
      case "handed_back": addNotice("handed_back", f.id, f.name); break;
      case "closed": addNotice("closed", f.id, f.name); break;
      case "queue": onQueue(f); break;
      case "typing": onTyping(f); break;
      case "error": onError(f); break;
      default: break; // unknown frame types are ignored (forward compatible)
    }
  }

  function onWelcome(f) {
    if (f.session) setToken(f.session);
    setState(f.state);
    ui.messages.textContent = ""; // history is the whole truth: clear and re-render
    var history = Array.isArray(f.history) ? f.history : [];
    history.forEach(function (item, i) {
      if (!item || typeof item !== "object") return;
      var node;
      if (item.kind === "handoff") {
        addHandoff(item.id, item.text);
      } else if (item.role === "agent") {
        addAgentMsg(item.id, item.text, item.name);
      } else if (item.kind === "agent_joined" || item.kind === "handed_back" || item.kind === "closed") {
        addNotice(item.kind, item.id, item.name);
      } else if (item.kind === "contact") {
        contactSent = true;
        addMsg("system", "Thanks! We'll reply to " + item.email + " as soon as we can.", item.id, "deskmate-contact-done");
      } else if (item.kind === "reply" && item.buttons && item.buttons.length) {
        addReply(item.id, item.text, item.buttons, i === history.length - 1);
      } else if (item.kind === "clarify") {
        // only the newest clarification, if nothing came after it, stays clickable
        addClarify(item.id, item.text, item.options, i === history.length - 1);
      } else {
        var role = item.role === "customer" || item.role === "system" ? item.role : "bot";
        node = addMsg(role, item.text, item.id, isPending(item.id) ? "deskmate-pending" : "");
      }
      if (node && item.at) node.title = item.at;
    });
    // unacked messages the server has not stored yet: show them (once) as pending
    pending.forEach(function (m) { if (!m.contact) addMsg("customer", m.text, m.id, "deskmate-pending"); });
    if (f.state === "WITH_AGENT") setStatus("agent", "Chatting with our team");
    ready = true;
    backoff = 500;
    if (f.state !== "WITH_AGENT") setStatus("online", "Online");
    pending.forEach(transmit); // the server dedupes by id, so resending is safe
  }

  var retryTimer = null;
  function retryPendingLater() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () {
      retryTimer = null;
      if (ready) pending.forEach(transmit); // deduped by id on the server
    }, 5000);
  }

  function onAck(id) {
    pending = pending.filter(function (m) { return m.id !== id; });
    savePending();
    var node = findMsg(id);
    if (node) node.classList.remove("deskmate-pending");
  }

  function onError(f) {
    if (f.code === "closed") {
      // the conversation was closed: forget it; the reconnect starts a new one and resends pending messages
      dropToken();
      if (ws) ws.close();
      return;
    }
    if (f.code === "session_unknown") {
      dropToken();
      hello(); // if the server closed the socket instead, the reconnect sends hello null
      return;
    }
    if (f.code === "internal" && f.ref == null) {
      // not saved (the database is away): the message stays pending and is resent shortly
      retryPendingLater();
    }
    if (f.ref != null && isPending(f.ref)) {
      // refused message (too long, rate limited...): stop resending it, mark it failed
      pending = pending.filter(function (m) { return m.id !== f.ref; });
      savePending();
      var node = findMsg(f.ref);
      if (node) { node.classList.remove("deskmate-pending"); node.classList.add("deskmate-failed"); }
    }
    addMsg("system", f.message || "Something went wrong.", null, "deskmate-error");
  }

  // Queue a customer message, show it as pending, send it now if connected.
  // Returns the message id, or null when nothing was sent.
  function send(text, intent) {
    if (!ui.panel) return null;
    text = text == null ? "" : String(text).trim();
    if (!text) return null;
    if (text.length > MAX_LEN) {
      addMsg("system", "Messages can be at most " + MAX_LEN + " characters.", null, "deskmate-error");
      return null;
    }
    var m = { id: newId(), text: text };
    if (intent) m.intent = String(intent);
    pending.push(m);
    savePending();
    addMsg("customer", text, m.id, "deskmate-pending");
    if (ready) transmit(m);
    return m.id;
  }

  window.Deskmate = {
    open: open,
    close: close,
    send: function (text) { return send(text); }
  };

  function start() {
    loadCss();
    buildUi();
    connect();
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();

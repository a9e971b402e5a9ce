// The conversation as the customer's page runs it: server frames in, customer messages out.
// Every outgoing item goes through the outbox first, so nothing is lost while offline.

import * as i18n from "../i18n/i18n.js";
import { Connection } from "./connection.js";
import { addThumbs, surveyBox } from "./feedback.js";
import { Outbox, dropToken, getToken, newId, setToken } from "./outbox.js";
import { clearQueue, showQueue } from "./queue.js";
import { addDelta, dropStream, finishStream } from "./stream.js";

export var MAX_LEN = 2000;
var BOT_TYPING_MS = 20000;
var ANSWERS = ["reply", "reply_delta", "clarify", "handoff", "agent_message", "error"];

export class Chat {
  constructor(view, url) {
    this.view = view;
    this.outbox = new Outbox();
    this.contact = { sent: false, submit: this.sendContact.bind(this) };
    this.typingSent = false;
    this.typingTimer = null;
    this.retryTimer = null;
    this.botTimer = null;
    var self = this;
    this.connection = new Connection(
      url,
      function () { return hello(getToken() || null); },
      function (frame) { self.handle(frame); },
      function () { view.setStatus("reconnecting", "widget.status.reconnecting"); }
    );
  }

  start() { this.connection.connect(); }

  handle(f) {
    var view = this.view;
    if (ANSWERS.indexOf(f.type) >= 0) this.botWorking(false);
    switch (f.type) {
      case "welcome": this.onWelcome(f); break;
      case "ack": this.onAck(f.id); break;
      case "reply":
        if (!finishStream(view, f)) view.addReply(f.id, f.text, f.buttons, true, f.at);
        this.thumbs(f.id, f.source, null);
        view.arrived();
        break;
      case "reply_delta": addDelta(view, f); break;
      case "clarify": dropStream(view, f); view.addClarify(f.id, f.text, f.options, true, f.at); view.arrived(); break;
      case "handoff": dropStream(view, f); view.addHandoff(f.id, f.text); view.arrived(); break;
      case "state":
        view.setState(f.state);
        if (f.state !== "WAITING_FOR_AGENT") clearQueue();
        else showState(view, f.state);
        break;
      case "agent_joined": view.addNotice("agent_joined", f.id, f.name); break;
      case "agent_message":
        view.addAgentMsg(f.id, f.text, f.name, f.at);
        view.showTyping(false);
        view.arrived();
        break;
      case "handed_back": view.addNotice("handed_back", f.id, f.name); clearQueue(); break;
      case "closed": view.addNotice("closed", f.id, f.name, f.by); clearQueue(); this.askSurvey(); break;
      case "queue": showQueue(view, f, this.contact, MAX_LEN); break;
      case "typing": view.showTyping(f.on, f.name); break;
      case "error": this.onError(f); break;
      default: break; // unknown frame types are ignored (forward compatible)
    }
  }

  // The dots while the bot works on an answer: shown when a message goes to the bot, gone with
  // its answer (or after BOT_TYPING_MS, should the answer never come).
  botWorking(on) {
    var view = this.view;
    clearTimeout(this.botTimer);
    view.showBotTyping(on);
    if (on) this.botTimer = setTimeout(function () { view.showBotTyping(false); }, BOT_TYPING_MS);
  }

  // The history is the whole truth: clear and re-render it, then resend what is still pending.
  onWelcome(f) {
    var view = this.view;
    var outbox = this.outbox;
    var self = this;
    if (f.session) setToken(f.session);
    view.setState(f.state);
    view.clear();
    var history = Array.isArray(f.history) ? f.history : [];
    history.forEach(function (item, i) {
      if (!item || typeof item !== "object") return;
      var last = i === history.length - 1;
      if (item.kind === "handoff") {
        view.addHandoff(item.id, item.text);
      } else if (item.role === "agent") {
        view.addAgentMsg(item.id, item.text, item.name, item.at);
      } else if (item.kind === "agent_joined" || item.kind === "handed_back" || item.kind === "closed") {
        view.addNotice(item.kind, item.id, item.name, item.by);
        if (item.kind !== "agent_joined") clearQueue();
      } else if (item.kind === "contact") {
        self.contact.sent = true;
        view.addMsg("system", contactThanks(item.email), item.id, "deskmate-contact-done");
      } else if (item.kind === "reply" && item.buttons && item.buttons.length) {
        view.addReply(item.id, item.text, item.buttons, last, item.at);
        self.thumbs(item.id, item.source, item.rated);
      } else if (item.kind === "clarify") {
        // only the newest clarification, if nothing came after it, stays clickable
        view.addClarify(item.id, item.text, item.options, last, item.at);
      } else {
        var role = item.role === "customer" || item.role === "system" ? item.role : "bot";
        view.addMsg(role, item.text, item.id, outbox.has(item.id) ? "deskmate-pending" : "", item.at);
        if (item.kind === "reply") self.thumbs(item.id, item.source, item.rated);
      }
    });
    // unacked messages the server has not stored yet: show them (once) as pending
    outbox.items.forEach(function (m) {
      if (!m.contact && !m.frame) view.addMsg("customer", m.text, m.id, "deskmate-pending");
    });
    this.connection.welcomed();
    showState(view, f.state);
    this.resendAll(); // the server dedupes by id, so resending is safe
  }

  onAck(id) {
    this.outbox.remove(id);
    var node = this.view.findMsg(id);
    if (node) node.classList.remove("deskmate-pending");
  }

  onError(f) {
    if (f.code === "closed") {
      // the conversation was closed: forget it; the reconnect starts a new one and resends pending messages
      dropToken();
      this.connection.close();
      return;
    }
    if (f.code === "session_unknown") {
      dropToken();
      this.connection.send(hello(null)); // if the server closed instead, the reconnect says hello
      return;
    }
    if (f.code === "internal" && f.ref == null) {
      // not saved (the database is away): the message stays pending and is resent shortly
      this.retryLater();
    }
    if (f.ref != null && this.outbox.has(f.ref)) {
      // refused message (too long, rate limited...): stop resending it, mark it failed
      this.outbox.remove(f.ref);
      var node = this.view.findMsg(f.ref);
      if (node) { node.classList.remove("deskmate-pending"); node.classList.add("deskmate-failed"); }
    }
    // the catalogue's text for the code (internal: resent by itself, or not), else the server's words
    var code = f.code === "internal" && f.ref != null ? "internal_refused" : f.code;
    var shown = i18n.error("widget", { code: code, message: f.message }, { max: MAX_LEN });
    this.view.addMsg("system", i18n.msg(shown[0], shown[1]), null, "deskmate-error");
  }

  // Queue a customer message, show it as pending, send it now if connected.
  // Returns the message id, or null when nothing was sent.
  send(text, intent) {
    text = text == null ? "" : String(text).trim();
    if (!text) return null;
    if (text.length > MAX_LEN) {
      this.view.addMsg("system", i18n.msg("widget.error.too_long", { max: MAX_LEN }), null, "deskmate-error");
      return null;
    }
    var m = { id: newId(), text: text };
    if (intent) m.intent = String(intent);
    this.outbox.add(m);
    this.view.addMsg("customer", text, m.id, "deskmate-pending");
    if (this.view.state() === "BOT") this.botWorking(true);
    if (this.connection.ready) this.transmit(m);
    return m.id;
  }

  sendContact(email, text) {
    var m = { id: newId(), contact: true, email: email, text: text };
    this.outbox.add(m);
    this.contact.sent = true;
    this.view.addMsg("system", contactThanks(email), m.id, "deskmate-contact-done deskmate-pending");
    if (this.connection.ready) this.transmit(m);
  }

  // While chatting with an agent: "typing" on the first keystroke, off after 2.5 s without one.
  typing() {
    if (this.view.state() !== "WITH_AGENT" || !this.connection.ready) return;
    var connection = this.connection;
    var self = this;
    if (!this.typingSent) { this.typingSent = true; connection.send({ type: "typing", on: true }); }
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(function () {
      self.typingSent = false;
      connection.send({ type: "typing", on: false });
    }, 2500);
  }

  // Thumbs under a bot answer: not on the greeting or a form's questions.
  thumbs(id, source, rated) {
    var node = this.view.findMsg(id);
    if (!node || source === "system" || source === "form" || node.querySelector(".deskmate-rate")) return;
    var self = this;
    addThumbs(node, rated, function (value, comment) {
      self.queue({ type: "feedback", id: newId(), reply: String(id), value: value, comment: comment });
    });
  }

  askSurvey() {
    if (document.getElementById("deskmate-survey")) return;
    var self = this;
    var box = surveyBox(function (score, comment) {
      self.queue({ type: "survey", id: newId(), score: score, comment: comment });
    });
    this.view.ui.messages.appendChild(box);
    this.view.scrollDown();
  }

  end() { this.queue({ type: "end", id: newId() }); }

  // A frame other than a message (feedback, survey, end) through the outbox: resent until acked.
  queue(frame) {
    var m = { id: frame.id, frame: frame };
    this.outbox.add(m);
    if (this.connection.ready) this.transmit(m);
  }

  transmit(m) {
    if (m.frame) { this.connection.send(m.frame); return; }
    if (m.contact) { this.connection.send({ type: "contact", id: m.id, email: m.email, text: m.text }); return; }
    var frame = { type: "message", id: m.id, text: m.text };
    if (m.intent) frame.intent = m.intent;
    this.connection.send(frame);
  }

  resendAll() { this.outbox.items.forEach(this.transmit, this); }

  retryLater() {
    if (this.retryTimer) return;
    var self = this;
    this.retryTimer = setTimeout(function () {
      self.retryTimer = null;
      if (self.connection.ready) self.resendAll(); // deduped by id on the server
    }, 5000);
  }
}

// The header's status for a state (the queue frame refines "waiting" when nobody is online).
function showState(view, state) {
  if (state === "WITH_AGENT") view.setStatus("agent", "widget.status.team");
  else if (state === "WAITING_FOR_AGENT") view.setStatus("waiting", "widget.status.waiting");
  else view.setStatus("online", "widget.status.online");
}

// The first frame: the session to resume (null: a new conversation), the page the customer is on,
// without its query or fragment (they can carry personal data; the server drops them too), and the
// widget's language, in which a new conversation's greeting comes when the KB has it.
function hello(session) {
  return { type: "hello", session: session, page: location.origin + location.pathname, language: i18n.language() };
}

function contactThanks(email) { return i18n.msg("widget.contact.thanks", { email: String(email) }); }

// Rendering the conversation: message bubbles, reply buttons, handoffs, agents' messages and notices.
// Every text goes in through textContent (dom.el); nothing here talks to the server.

import { el } from "./dom.js";

var HANDOFF_DEFAULT = "You're being connected to a person from our team.";

export class View {
  // ui: what dom.buildUi returned; choose(label, intent): a reply button or clarify option was clicked.
  constructor(ui, choose) {
    this.ui = ui;
    this.choose = choose;
    this.typingBox = null;
    this.botTyping = null;
    this.unread = 0;
  }

  isOpen() { return !this.ui.panel.hasAttribute("hidden"); }
  open() {
    this.ui.panel.removeAttribute("hidden");
    this.ui.panel.setAttribute("data-open", "true");
    this.ui.launcher.setAttribute("aria-expanded", "true");
    this.ui.launcherLabel.textContent = "Close chat";
    this.unread = 0;
    this.showUnread();
    this.scrollDown();
    this.ui.input.focus();
  }
  close() {
    this.ui.panel.setAttribute("hidden", "");
    this.ui.panel.setAttribute("data-open", "false");
    this.ui.launcher.setAttribute("aria-expanded", "false");
    this.ui.launcherLabel.textContent = "Chat with us";
  }

  // A reply arrived live (not from history): counted on the launcher while the panel is closed.
  arrived() {
    if (this.isOpen()) return;
    this.unread += 1;
    this.showUnread();
  }
  showUnread() {
    var badge = this.ui.unread;
    badge.textContent = this.unread > 9 ? "9+" : this.unread > 0 ? String(this.unread) : "";
    badge.setAttribute("aria-label", this.unread + " new " + (this.unread === 1 ? "message" : "messages"));
    if (this.unread > 0) badge.removeAttribute("hidden");
    else badge.setAttribute("hidden", "");
  }

  setStatus(key, text) {
    this.ui.status.textContent = text;
    this.ui.status.setAttribute("data-status", key);
  }
  setState(state) { if (state) this.ui.panel.setAttribute("data-state", String(state)); }
  state() { return this.ui.panel.getAttribute("data-state"); }
  scrollDown() { this.ui.messages.scrollTop = this.ui.messages.scrollHeight; }
  clear() {
    this.ui.messages.textContent = "";
    this.botTyping = null;
  }

  findMsg(id) {
    if (id == null) return null;
    var nodes = this.ui.messages.querySelectorAll(".deskmate-msg[data-id]");
    for (var i = 0; i < nodes.length; i++) if (nodes[i].getAttribute("data-id") === String(id)) return nodes[i];
    return null;
  }

  // Append one message bubble. role: customer | bot | system | agent; extra: extra class names;
  // at: when it was said (ISO 8601 from the server; now when omitted), shown on what people said.
  addMsg(role, text, id, extra, at) {
    if (id != null && this.findMsg(id)) return null; // never render the same id twice
    var node = el("div", { "class": "deskmate-msg deskmate-" + role + (extra ? " " + extra : "") });
    if (id != null) node.setAttribute("data-id", String(id));
    node.appendChild(el("div", { "class": "deskmate-text" }, text == null ? "" : text));
    if (role !== "system") node.appendChild(timeOf(at));
    // the conversation moved on: only the newest buttons stay clickable (an error line changes nothing)
    if (!extra || extra.indexOf("deskmate-error") < 0) this.retireOptions();
    this.ui.messages.insertBefore(node, this.botTyping);
    this.scrollDown();
    return node;
  }

  retireOptions() {
    var live = this.ui.messages.querySelectorAll(".deskmate-option:not(:disabled)");
    for (var i = 0; i < live.length; i++) live[i].disabled = true;
  }

  // The bot is working on an answer: three dots at the end of the log until it replies.
  showBotTyping(on) {
    if (on && !this.botTyping) {
      this.botTyping = el("div", { "class": "deskmate-msg deskmate-bot-typing",
                                   role: "status", "aria-label": "The assistant is typing" });
      for (var i = 0; i < 3; i++) this.botTyping.appendChild(el("span", { "class": "deskmate-dot" }));
      this.ui.messages.appendChild(this.botTyping);
      this.scrollDown();
    } else if (!on && this.botTyping) {
      this.botTyping.parentNode.removeChild(this.botTyping);
      this.botTyping = null;
    }
  }

  // Bot message with clarification buttons; `active` false renders them disabled (old history).
  // An option without an intent (a form question's {title, value} button) sends its label as a
  // plain message: the server reads it as the answer to the question.
  addClarify(id, text, options, active, at) {
    var node = this.addMsg("bot", text, id, "deskmate-clarify", at);
    if (!node) return null;
    var box = el("div", { "class": "deskmate-options", role: "group", "aria-label": "Choose an option" });
    var choose = this.choose;
    (options || []).forEach(function (opt) {
      var intent = typeof opt.intent === "string" && opt.intent ? opt.intent : null;
      var b = el("button", { type: "button", "class": "deskmate-option" }, opt.label);
      if (intent) b.setAttribute("data-intent", intent);
      if (!active) b.disabled = true;
      b.addEventListener("click", function () {
        var btns = box.querySelectorAll(".deskmate-option");
        for (var i = 0; i < btns.length; i++) btns[i].disabled = true;
        b.classList.add("deskmate-chosen");
        choose(opt.label, intent);
      });
      box.appendChild(b);
    });
    node.insertBefore(box, node.querySelector(".deskmate-time"));
    this.scrollDown();
    return node;
  }

  // A bot reply, with its buttons: each sends its title, as a message of the button's intent if it
  // has one ({title, intent}), else as a plain message ({title, value}: a form question's answer).
  addReply(id, text, buttons, active, at) {
    if (!buttons || !buttons.length) return this.addMsg("bot", text, id, "", at);
    var options = buttons.map(function (b) { return { intent: b.intent, label: b.title }; });
    return this.addClarify(id, text, options, active, at);
  }

  addHandoff(id, text) {
    return this.addMsg("system", text || HANDOFF_DEFAULT, id, "deskmate-handoff");
  }

  addAgentMsg(id, text, name, at) {
    var node = this.addMsg("agent", text, id, "", at);
    if (node && name) node.insertBefore(el("div", { "class": "deskmate-name" }, name), node.firstChild);
    return node;
  }

  // agent_joined, handed_back or closed: a line in the log, and the header's status.
  addNotice(kind, id, name, by) {
    var text = kind === "closed" && by === "customer" ? "You ended the chat." : noticeText(kind, name);
    var node = this.addMsg("system", text, id, "deskmate-" + kind.replace("_", "-"));
    if (kind === "agent_joined") this.setStatus("agent", "Chatting with " + (name || "our team"));
    if (kind === "handed_back" || kind === "closed") this.setStatus("online", "Online");
    return node;
  }

  // An agent is typing (on) or stopped (off).
  showTyping(on, name) {
    if (!this.typingBox) {
      this.typingBox = el("div", { id: "deskmate-typing", "class": "deskmate-typing", "aria-live": "polite" });
      this.ui.panel.insertBefore(this.typingBox, this.ui.form);
    }
    this.typingBox.textContent = on ? (name || "Our team") + " is typing…" : "";
  }
}

// <time> with the local hour and minute; the full date and time on hover.
function timeOf(at) {
  var when = at ? new Date(at) : new Date();
  if (isNaN(when.getTime())) when = new Date();
  var node = el("time", { "class": "deskmate-time", datetime: when.toISOString(), title: when.toLocaleString() },
                when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
  return node;
}

function noticeText(kind, name) {
  var who = name || "Someone from our team";
  if (kind === "agent_joined") return who + " joined the chat.";
  if (kind === "handed_back") return "You're back with the assistant.";
  if (kind === "closed") return who + " closed the chat. Thanks for getting in touch!";
  return "";
}

// Rendering the conversation: message bubbles, reply buttons, handoffs, agents' messages and notices.
// Every text goes in through textContent (dom.el); nothing here talks to the server. What people and
// the bot wrote is shown as it is; the widget's own texts come from the catalogue (i18n.text), so a
// switch of language re-translates them in place.

import * as i18n from "../i18n/i18n.js";
import { el } from "./dom.js";

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
    i18n.text(this.ui.launcherLabel, "widget.launcher.close");
    this.unread = 0;
    this.showUnread();
    this.scrollDown();
    this.ui.input.focus();
  }
  close() {
    this.ui.panel.setAttribute("hidden", "");
    this.ui.panel.setAttribute("data-open", "false");
    this.ui.launcher.setAttribute("aria-expanded", "false");
    i18n.text(this.ui.launcherLabel, "widget.launcher.open");
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
    i18n.attr(badge, "aria-label", "widget.unread", { count: this.unread });
    if (this.unread > 0) badge.removeAttribute("hidden");
    else badge.setAttribute("hidden", "");
  }

  // The header's status line: `status` (connecting, online, waiting, away, agent, reconnecting) for
  // the styles, and the catalogue's text `key` with `params`.
  setStatus(status, key, params) {
    i18n.text(this.ui.status, key, params);
    this.ui.status.setAttribute("data-status", status);
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

  // Append one message bubble. role: customer | bot | system | agent; text: what was said (shown as
  // it is), or i18n.msg(key, params) for a text of the widget's own; extra: extra class names;
  // at: when it was said (ISO 8601 from the server; now when omitted), shown on what people said.
  addMsg(role, text, id, extra, at) {
    if (id != null && this.findMsg(id)) return null; // never render the same id twice
    var node = el("div", { "class": "deskmate-msg deskmate-" + role + (extra ? " " + extra : "") });
    if (id != null) node.setAttribute("data-id", String(id));
    var body = el("div", { "class": "deskmate-text" });
    if (text && typeof text === "object") i18n.text(body, text.key, text.params);
    else body.textContent = text == null ? "" : String(text);
    node.appendChild(body);
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
      this.botTyping = i18n.attr(el("div", { "class": "deskmate-msg deskmate-bot-typing", role: "status" }),
                                 "aria-label", "widget.bot_typing");
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
    var box = i18n.attr(el("div", { "class": "deskmate-options", role: "group" }), "aria-label", "widget.options");
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

  // The bot's handoff text (in the KB's words), or the widget's own when it has none.
  addHandoff(id, text) {
    return this.addMsg("system", text || i18n.msg("widget.handoff"), id, "deskmate-handoff");
  }

  addAgentMsg(id, text, name, at) {
    var node = this.addMsg("agent", text, id, "", at);
    if (node && name) node.insertBefore(el("div", { "class": "deskmate-name" }, name), node.firstChild);
    return node;
  }

  // agent_joined, handed_back or closed: a line in the log, and the header's status.
  addNotice(kind, id, name, by) {
    var node = this.addMsg("system", noticeText(kind, name, by), id, "deskmate-" + kind.replace("_", "-"));
    if (kind === "agent_joined") {
      if (name) this.setStatus("agent", "widget.status.agent", { name: name });
      else this.setStatus("agent", "widget.status.team");
    }
    if (kind === "handed_back" || kind === "closed") this.setStatus("online", "widget.status.online");
    return node;
  }

  // An agent is typing (on) or stopped (off).
  showTyping(on, name) {
    if (!this.typingBox) {
      this.typingBox = el("div", { id: "deskmate-typing", "class": "deskmate-typing", "aria-live": "polite" });
      this.ui.panel.insertBefore(this.typingBox, this.ui.form);
    }
    if (!on) i18n.plain(this.typingBox, "");
    else if (name) i18n.text(this.typingBox, "widget.typing.agent", { name: name });
    else i18n.text(this.typingBox, "widget.typing.team");
  }
}

// <time> with the local hour and minute in the widget's language; the full date and time on hover.
function timeOf(at) {
  var when = at ? new Date(at) : new Date();
  if (isNaN(when.getTime())) when = new Date();
  var node = el("time", { "class": "deskmate-time", datetime: when.toISOString() });
  var params = { time: i18n.date(when, { hour: "2-digit", minute: "2-digit" }),
                 full: i18n.date(when, { dateStyle: "medium", timeStyle: "medium" }) };
  i18n.text(node, "widget.time", params);
  i18n.attr(node, "title", "widget.time.full");
  return node;
}

function noticeText(kind, name, by) {
  if (kind === "closed" && by === "customer") return i18n.msg("widget.notice.ended");
  if (kind === "agent_joined") return name ? i18n.msg("widget.notice.joined", { name: name }) : i18n.msg("widget.notice.joined_team");
  if (kind === "handed_back") return i18n.msg("widget.notice.handed_back");
  if (kind === "closed") return name ? i18n.msg("widget.notice.closed", { name: name }) : i18n.msg("widget.notice.closed_team");
  return "";
}

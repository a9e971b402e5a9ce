// Waiting for a person: the customer's place in the queue, or, with nobody online, a form to leave
// an email and a message.

import * as i18n from "../i18n/i18n.js";
import { el } from "./dom.js";

export function clearQueue() {
  var box = document.getElementById("deskmate-queue");
  if (box) box.parentNode.removeChild(box);
}

// f: the queue frame {position, agents_online}. contact: {sent, submit(email, text)}.
export function showQueue(view, f, contact, maxLen) {
  if (view.state() !== "WAITING_FOR_AGENT") return;
  var box = document.getElementById("deskmate-queue");
  if (!box) {
    box = el("div", { id: "deskmate-queue", "class": "deskmate-msg deskmate-system", role: "status" });
    view.ui.messages.appendChild(box);
  }
  box.textContent = "";
  // the header says the same as the log: nobody online is not "Online"
  if (f.agents_online) view.setStatus("waiting", "widget.status.waiting");
  else view.setStatus("away", "widget.status.away");
  if (!f.agents_online) {
    box.appendChild(i18n.text(el("div", { "class": "deskmate-text" }), "widget.queue.offline"));
    if (!contact.sent) box.appendChild(contactForm(contact, maxLen));
  } else {
    var position = typeof f.position === "number" && f.position > 0 ? f.position : 1;
    box.appendChild(i18n.text(el("div", { "class": "deskmate-text" }), "widget.queue.position", { position: position }));
  }
  view.scrollDown();
}

function contactForm(contact, maxLen) {
  var form = el("form", { id: "deskmate-contact", "class": "deskmate-contact" });
  var email = el("input", { id: "deskmate-contact-email", type: "email", required: "", maxlength: "254" });
  i18n.attr(email, "placeholder", "widget.contact.email.placeholder");
  i18n.attr(email, "aria-label", "widget.contact.email");
  var text = el("textarea", { id: "deskmate-contact-text", required: "", maxlength: String(maxLen), rows: "3" });
  i18n.attr(text, "placeholder", "widget.contact.text.placeholder");
  i18n.attr(text, "aria-label", "widget.contact.text");
  var button = i18n.text(el("button", { type: "submit", id: "deskmate-contact-send" }), "widget.send");
  form.appendChild(email);
  form.appendChild(text);
  form.appendChild(button);
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var address = email.value.trim();
    var message = text.value.trim();
    if (!address || !message) return;
    form.parentNode.removeChild(form);
    contact.submit(address, message);
  });
  return form;
}

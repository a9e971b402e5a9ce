// Waiting for a person: the customer's place in the queue, or, with nobody online, a form to leave
// an email and a message.

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
  if (f.agents_online) view.setStatus("waiting", "Waiting for our team");
  else view.setStatus("away", "Team offline · leave a message");
  if (!f.agents_online) {
    box.appendChild(el("div", { "class": "deskmate-text" },
      "No one from our team is online right now. Leave your email and a message and we'll get back to you."));
    if (!contact.sent) box.appendChild(contactForm(contact, maxLen));
  } else {
    box.appendChild(el("div", { "class": "deskmate-text" },
      "Connecting you to a person… You're number " + (f.position || 1) + " in the queue."));
  }
  view.scrollDown();
}

function contactForm(contact, maxLen) {
  var form = el("form", { id: "deskmate-contact", "class": "deskmate-contact" });
  var email = el("input", { id: "deskmate-contact-email", type: "email", required: "", maxlength: "254",
                            placeholder: "you@example.com", "aria-label": "Your email" });
  var text = el("textarea", { id: "deskmate-contact-text", required: "", maxlength: String(maxLen), rows: "3",
                              placeholder: "How can we help?", "aria-label": "Your message" });
  var button = el("button", { type: "submit", id: "deskmate-contact-send" }, "Send");
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

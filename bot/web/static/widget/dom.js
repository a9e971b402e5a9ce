// The widget's DOM: building the panel, and making elements whose text always goes in as textContent.

export function el(tag, attrs, text) {
  var node = document.createElement(tag);
  if (attrs) for (var k in attrs) node.setAttribute(k, attrs[k]);
  if (text != null) node.textContent = String(text);
  return node;
}

// Launcher, panel (header with title and status, message log, message form), added to the page.
// `on` holds the handlers: toggle(), close(), end(), submit(text) -> true when sent, input().
export function buildUi(title, maxLen, on) {
  var root = el("div", { id: "deskmate-root" });

  var launcher = el("button", {
    id: "deskmate-launcher", type: "button",
    "aria-controls": "deskmate-panel", "aria-expanded": "false"
  });
  var launcherLabel = el("span", { "class": "deskmate-launcher-label" }, "Chat with us");
  // replies that came while the panel was closed
  var unread = el("span", { id: "deskmate-unread", "class": "deskmate-unread", hidden: "" });
  launcher.appendChild(launcherLabel);
  launcher.appendChild(unread);

  var panel = el("section", {
    id: "deskmate-panel", role: "dialog", "aria-label": title,
    "data-state": "BOT", "data-open": "false", hidden: ""
  });

  var header = el("header", { "class": "deskmate-header" });
  var heading = el("div", { "class": "deskmate-heading" });
  heading.appendChild(el("h2", { "class": "deskmate-title" }, title));
  var status = el("span", { id: "deskmate-status", role: "status", "data-status": "connecting" }, "Connecting…");
  heading.appendChild(status);
  var endBtn = el("button", { id: "deskmate-end", type: "button", title: "End this chat and rate it" }, "End chat");
  var closeBtn = el("button", { id: "deskmate-close", type: "button", "aria-label": "Close chat" }, "×");
  var tools = el("div", { "class": "deskmate-tools" });
  tools.appendChild(endBtn);
  tools.appendChild(closeBtn);
  header.appendChild(heading);
  header.appendChild(tools);

  var messages = el("div", {
    id: "deskmate-messages", role: "log", "aria-live": "polite", "aria-relevant": "additions"
  });

  var form = el("form", { id: "deskmate-form", autocomplete: "off" });
  var label = el("label", { "for": "deskmate-input", "class": "deskmate-visually-hidden" }, "Your message");
  var input = el("input", {
    id: "deskmate-input", type: "text", name: "message", maxlength: String(maxLen),
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

  launcher.addEventListener("click", on.toggle);
  closeBtn.addEventListener("click", on.close);
  endBtn.addEventListener("click", on.end);
  // Enter in the input submits the form (implicit submission); empty input is ignored.
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (on.submit(input.value)) input.value = "";
    input.focus();
  });
  input.addEventListener("input", on.input);
  panel.addEventListener("keydown", function (ev) { if (ev.key === "Escape") on.close(); });

  return { root: root, launcher: launcher, launcherLabel: launcherLabel, unread: unread, panel: panel,
           status: status, messages: messages, form: form, input: input, sendBtn: sendBtn };
}

export function loadCss(href) {
  var links = document.querySelectorAll('link[rel="stylesheet"]');
  for (var i = 0; i < links.length; i++) if (links[i].href === href) return;
  var link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.appendChild(link);
}

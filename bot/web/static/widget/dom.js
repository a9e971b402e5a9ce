// The widget's DOM: building the panel, and making elements whose text always goes in as textContent.

import * as i18n from "../i18n/i18n.js";

export function el(tag, attrs, text) {
  var node = document.createElement(tag);
  if (attrs) for (var k in attrs) node.setAttribute(k, attrs[k]);
  if (text != null) node.textContent = String(text);
  return node;
}

// Launcher, panel (header with title, status and tools, message log, message form), added to the
// page. title: the embedding tag's data-title (the shop's words), or null for "Support" in the
// widget's language. `on` holds the handlers: toggle(), close(), end(), submit(text) -> true when
// sent, input(). Every text of ours comes from the catalogue (i18n.text, i18n.attr).
export function buildUi(title, maxLen, on) {
  var root = el("div", { id: "deskmate-root" });

  var launcher = el("button", {
    id: "deskmate-launcher", type: "button",
    "aria-controls": "deskmate-panel", "aria-expanded": "false"
  });
  var launcherLabel = i18n.text(el("span", { "class": "deskmate-launcher-label" }), "widget.launcher.open");
  // replies that came while the panel was closed
  var unread = el("span", { id: "deskmate-unread", "class": "deskmate-unread", hidden: "" });
  launcher.appendChild(launcherLabel);
  launcher.appendChild(unread);

  var panel = el("section", {
    id: "deskmate-panel", role: "dialog", "data-state": "BOT", "data-open": "false", hidden: ""
  });
  var heading = el("h2", { "class": "deskmate-title" });
  if (title) {
    panel.setAttribute("aria-label", title);
    heading.textContent = title;
  } else {
    i18n.attr(panel, "aria-label", "widget.title");
    i18n.text(heading, "widget.title");
  }

  // two rows: the title with the tools (end chat, close); the status with the language switch
  var header = el("header", { "class": "deskmate-header" });
  var status = i18n.text(el("span", { id: "deskmate-status", role: "status", "data-status": "connecting" }),
                         "widget.status.connecting");
  var lang = i18n.switcher(el("select", { id: "deskmate-lang", "class": "deskmate-lang" }));
  var endBtn = i18n.attr(i18n.text(el("button", { id: "deskmate-end", type: "button" }), "widget.end"),
                         "title", "widget.end.hint");
  var closeBtn = i18n.attr(el("button", { id: "deskmate-close", type: "button" }, "×"), "aria-label", "widget.close");
  var tools = el("div", { "class": "deskmate-tools" });
  tools.appendChild(endBtn);
  tools.appendChild(closeBtn);
  var top = el("div", { "class": "deskmate-header-row" });
  top.appendChild(heading);
  top.appendChild(tools);
  var sub = el("div", { "class": "deskmate-header-row" });
  sub.appendChild(status);
  sub.appendChild(lang);
  header.appendChild(top);
  header.appendChild(sub);

  var messages = el("div", {
    id: "deskmate-messages", role: "log", "aria-live": "polite", "aria-relevant": "additions"
  });

  var form = el("form", { id: "deskmate-form", autocomplete: "off" });
  var label = i18n.text(el("label", { "for": "deskmate-input", "class": "deskmate-visually-hidden" }),
                        "widget.input.label");
  var input = el("input", { id: "deskmate-input", type: "text", name: "message", maxlength: String(maxLen) });
  i18n.attr(input, "placeholder", "widget.input.placeholder");
  i18n.attr(input, "aria-label", "widget.input.label");
  var sendBtn = i18n.attr(i18n.text(el("button", { id: "deskmate-send", type: "submit" }), "widget.send"),
                          "aria-label", "widget.send.label");
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
           status: status, lang: lang, messages: messages, form: form, input: input, sendBtn: sendBtn };
}

export function loadCss(href) {
  var links = document.querySelectorAll('link[rel="stylesheet"]');
  for (var i = 0; i < links.length; i++) if (links[i].href === href) return;
  var link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.appendChild(link);
}

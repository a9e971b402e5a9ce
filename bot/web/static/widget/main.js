// The widget's entry point, loaded by /widget.js: loads the texts, builds the panel and starts the chat.
// config: {scriptUrl, title, server, lang} read from the embedding script tag; early: the
// [name, args] calls the page made on window.Deskmate before the modules were loaded (kept in the
// same list until the panel is built, then replayed).

import * as i18n from "../i18n/i18n.js";
import { Chat, MAX_LEN } from "./chat.js";
import { buildUi, loadCss } from "./dom.js";
import { View } from "./view.js";

export function start(config, early) {
  loadCss(new URL("widget.css", config.scriptUrl).href);
  // the texts first: from the Deskmate server the widget came from, in the language of i18n.js's rule
  i18n.start({ preferred: config.lang }).then(function () { build(config, early); });
}

function build(config, early) {
  var chat = null;
  var view = null;
  var ui = buildUi(config.title, MAX_LEN, {
    toggle: function () { view.isOpen() ? view.close() : view.open(); },
    close: function () { view.close(); },
    end: function () { chat.end(); },
    submit: function (text) { return chat.send(text) !== null; },
    input: function () { chat.typing(); }
  });
  i18n.attach(ui.root);  // its lang attribute, and a switch of language re-translates it in place
  view = new View(ui, function (label, intent) { chat.send(label, intent); });
  chat = new Chat(view, socketUrl(config));
  var hooks = {
    open: function () { view.open(); },
    close: function () { view.close(); },
    send: function (text) { return chat.send(text); }
  };
  window.Deskmate = hooks;
  (early || []).forEach(function (call) { hooks[call[0]].apply(null, call[1]); });
  chat.start();
}

// data-server="ws://other:port" overrides the websocket base; by default, the script's own host.
function socketUrl(config) {
  if (config.server) {
    var base = config.server.trim().replace(/^http/, "ws").replace(/\/+$/, "");
    return /\/ws\/customer$/.test(base) ? base : base + "/ws/customer";
  }
  var proto = config.scriptUrl.protocol === "https:" ? "wss:" : "ws:";
  return proto + "//" + config.scriptUrl.host + "/ws/customer";
}

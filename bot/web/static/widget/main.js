// The widget's entry point, loaded by /widget.js: builds the panel and starts the chat.
// config: {scriptUrl, title, server} read from the embedding script tag; early: the
// [name, args] calls the page made on window.Deskmate before the modules were loaded.

import { Chat, MAX_LEN } from "./chat.js";
import { buildUi, loadCss } from "./dom.js";
import { View } from "./view.js";

export function start(config, early) {
  loadCss(new URL("widget.css", config.scriptUrl).href);
  var chat = null;
  var view = null;
  var ui = buildUi(config.title, MAX_LEN, {
    toggle: function () { view.isOpen() ? view.close() : view.open(); },
    close: function () { view.close(); },
    end: function () { chat.end(); },
    submit: function (text) { return chat.send(text) !== null; },
    input: function () { chat.typing(); }
  });
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

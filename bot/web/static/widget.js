/*
 * Deskmate customer chat widget. Plain JS, no build step, no dependencies.
 * Embed: <script src="http://HOST:PORT/widget.js" data-title="Shop support" defer></script>
 *   data-server="ws://other:port" overrides the websocket base (default: host of the script src).
 *   data-lang="zh" starts it in that language (default: the browser's language if there are texts in
 *   it, else the KB's); a choice made with the widget's language switch wins (i18n/i18n.js).
 *   data-title is the shop's own words, shown as written (default: "Support" in the widget's language).
 *
 * This file is the loader: a classic script (so the embed tag needs no type="module") that reads
 * its tag and imports the widget's ES modules from widget/ beside it:
 *   main.js        wiring: the panel, the chat, window.Deskmate
 *   chat.js        server frames in, customer messages out (welcome, ack, errors, typing)
 *   connection.js  the websocket: hello, reconnect with backoff
 *   outbox.js      unacknowledged messages and the session token, kept in localStorage
 *   view.js        rendering messages, buttons, notices, the typing line
 *   stream.js      streamed replies
 *   queue.js       the queue position and the leave-a-message form
 *   dom.js         building elements (text always through textContent)
 * and the texts of every language from i18n/ beside it (i18n.js, en.json, zh.json), shared with the
 * console and the admin page.
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

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var scriptUrl = new URL((script && script.src) || "/widget.js", location.href);
  var config = {
    scriptUrl: scriptUrl,
    title: (script && script.getAttribute("data-title")) || null,
    server: (script && script.getAttribute("data-server")) || null,
    lang: (script && script.getAttribute("data-lang")) || null
  };

  // window.Deskmate exists at once, as the page expects; calls made before the modules are in
  // are kept and replayed by main.js's start().
  var early = [];
  function later(name) { return function () { early.push([name, Array.prototype.slice.call(arguments)]); return null; }; }
  window.Deskmate = { open: later("open"), close: later("close"), send: later("send") };

  function start() {
    import(new URL("widget/main.js", scriptUrl).href)
      .then(function (widget) { widget.start(config, early); })
      .catch(function (error) {
        console.error("Deskmate: the chat widget could not start (modules from " + scriptUrl.href + ")", error);
      });
  }
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();

/* Deskmate admin page: KB reload, versions and rollback over the admin websocket (/ws/admin).
   Sign in with an admin account (its session token is kept in sessionStorage and resumed on reload)
   or with the admin token. Every text from the server is inserted with textContent, never as HTML;
   the page's own texts come from the catalogue of the chosen language (i18n/i18n.js, shared with
   admin/*.js) and are re-translated in place when the language switch changes it. An ES module. */
import * as i18n from "./i18n/i18n.js";

(function () {
  "use strict";

  var SESSION_KEY = "deskmate-admin-session";  // an admin account's session token
  var TOKEN_KEY = "deskmate-admin-token";  // the shared admin token, when signed in with it
  var $ = function (id) { return document.getElementById(id); };
  var ws = null;
  var counter = 0;
  var pending = {};
  var attempt = null;  // how the connection being opened signs in: "login", "token" or "resume"
  var signingIn = false;  // its answer has not come yet

  function nextId(prefix) { counter += 1; return prefix + "-" + Date.now().toString(36) + "-" + counter; }

  // A text of the catalogue (`key`, `params`) in `box`, or nothing (key null): shown or hidden.
  function say(box, key, params) {
    if (key) { i18n.text(box, key, params); } else { i18n.plain(box, ""); }
    box.hidden = !key;
  }

  function showError(key, params) { say($("admin-error"), key, params); }

  // A server error frame: the catalogue's text for its code, else the server's message as a
  // sentence (its `commands` shown as code, text nodes only, never parsed as HTML).
  function errorText(frame) {
    var text = (frame && frame.message) || "";
    var message = text && text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
    return i18n.error("admin", { code: frame && frame.code, message: message });
  }

  // Sign-in errors show above the forms; the field that was used gets the focus for another try.
  // key, params: the catalogue's text (null: no error).
  function signinFailed(key, params) {
    var box = $("admin-signin-error");
    say(box, key, params);
    signingIn = false;
    $("admin-login-button").disabled = false;
    $("admin-signin-button").disabled = false;
    ["admin-token", "admin-password"].forEach(function (id) { $(id).removeAttribute("aria-invalid"); });
    if (!key) { return; }
    var field = attempt === "token" ? $("admin-token")
      : $("admin-username").value ? $("admin-password") : $("admin-username");
    if (field.id !== "admin-username") { field.setAttribute("aria-invalid", "true"); }
    field.focus();
    field.select();
  }

  // A table cell with the server's text, or the catalogue's when `text` is an i18n message.
  function cell(row, text, className) {
    var td = document.createElement("td");
    put(td, text);
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function put(node, text) {
    if (text != null && typeof text === "object") { i18n.text(node, text.key, text.params); }
    else { node.textContent = text == null ? "" : String(text); }
    return node;
  }

  function badge(text, kind) {
    var span = document.createElement("span");
    span.className = "badge " + kind;
    return put(span, text);
  }

  // A word of ours for a code the server sent (`prefix` + code in the catalogue), else the code itself.
  function named(prefix, code) { return code && i18n.has(prefix + code) ? i18n.msg(prefix + code) : code; }

  function when(seconds) { return i18n.msg("admin.time", { time: i18n.date(seconds, { dateStyle: "short", timeStyle: "medium" }) }); }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    showError("admin.not_connected");
    return false;
  }

  function refresh() { send({ type: "versions", id: nextId("v") }); }
  function refreshCandidates() { send({ type: "candidates", id: nextId("c") }); }

  function renderCandidates(items) {
    var body = $("admin-candidates").querySelector("tbody");
    body.textContent = "";
    items.forEach(function (candidate) {
      var row = document.createElement("tr");
      row.setAttribute("data-candidate", candidate.id);
      cell(row, candidate.question, "detail");
      var answerCell = cell(row, "");
      var answer = document.createElement("textarea");
      answer.rows = 3;
      answer.maxLength = 2000;
      answer.value = candidate.answer;
      answer.className = "candidate-answer";
      answerCell.appendChild(answer);
      cell(row, candidate.agent);
      var actions = cell(row, "");
      var approve = document.createElement("button");
      approve.type = "button";
      approve.className = "secondary candidate-approve";
      i18n.text(approve, "admin.candidates.approve");
      approve.addEventListener("click", function () {
        var frame = { type: "approve", id: nextId("a"), candidate: candidate.id };
        if (answer.value.trim() !== candidate.answer) frame.answer = answer.value.trim();
        send(frame);
      });
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "secondary candidate-discard";
      i18n.text(discard, "admin.candidates.discard");
      discard.addEventListener("click", function () { send({ type: "discard", id: nextId("d"), candidate: candidate.id }); });
      actions.appendChild(approve);
      actions.appendChild(discard);
      body.appendChild(row);
    });
    $("admin-candidates-empty").hidden = items.length > 0;
  }

  function setBusy(busy) {
    $("admin-reload").disabled = busy;
    var buttons = document.querySelectorAll("#admin-builds button");
    for (var i = 0; i < buttons.length; i += 1) { buttons[i].disabled = busy; }
  }

  function renderVersions(frame) {
    var serving = $("admin-serving");
    i18n.text(serving, "admin.serving", { build: frame.serving });
    serving.hidden = false;
    var body = $("admin-builds").querySelector("tbody");
    body.textContent = "";
    frame.builds.forEach(function (build) {
      var row = document.createElement("tr");
      row.setAttribute("data-build", build.id);
      cell(row, build.id);
      cell(row, build.kb_name);
      cell(row, when(build.created_at));
      cell(row, build.content_hash.slice(0, 12));
      var action = cell(row, "");
      if (build.active) {
        action.appendChild(badge(i18n.msg("admin.builds.serving"), "serving"));
      } else {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        i18n.text(button, "admin.builds.restore");
        button.addEventListener("click", function () { rollback(build.id); });
        action.appendChild(button);
      }
      body.appendChild(row);
    });
    var history = $("admin-history").querySelector("tbody");
    history.textContent = "";
    frame.history.forEach(function (record) {
      var row = document.createElement("tr");
      cell(row, when(record.at));
      cell(row, record.actor);
      cell(row, named("admin.action.", record.action));
      var outcome = cell(row, "");
      outcome.appendChild(badge(named("admin.outcome.", record.outcome), record.outcome === "serving" ? "ok" : record.outcome));
      cell(row, record.build_id || "-");
      cell(row, record.detail, "detail");
      history.appendChild(row);
    });
  }

  // The status line: the catalogue's text `key` with `params` (null: empty); ok: true, false or null.
  function status(key, params, ok) {
    var line = $("admin-status");
    if (key) { i18n.text(line, key, params); } else { i18n.plain(line, ""); }
    line.className = "status " + (ok === true ? "ok" : ok === false ? "bad" : "");
  }

  function renderIssues(issues) {
    var list = $("admin-issues");
    list.textContent = "";
    (issues || []).forEach(function (issue) {
      var item = document.createElement("li");
      item.textContent = (issue.line ? issue.file + ":" + issue.line : issue.file) + ": " + issue.message;
      list.appendChild(item);
    });
  }

  function start(type, extra) {
    var frame = { type: type, id: nextId(type[0]) };
    for (var key in extra) { if (Object.prototype.hasOwnProperty.call(extra, key)) { frame[key] = extra[key]; } }
    if (send(frame)) {
      pending[frame.id] = type;
      setBusy(true);
      renderIssues([]);
      if (type === "reload") { status("admin.status.reloading"); }
      else { status("admin.status.restoring", { build: extra.build }); }
    }
  }

  function reload() { start("reload", {}); }

  function rollback(build) {
    if (window.confirm(i18n.t("admin.rollback.confirm", { build: build }))) { start("rollback", { build: build }); }
  }

  // The page's other parts (admin/insights.js, admin/inbox.js: ES modules) use the same connection:
  // DeskmateAdmin.request(prefix, frame), and DeskmateAdmin.on(type, handler) for the frames that
  // come back ("signed-in" when a session starts; "error" frames whose ref is one of their requests).
  var listeners = {};
  var asked = {};  // ids of the modules' requests: their errors go back to them
  window.DeskmateAdmin = {
    // send frame with a new id (prefix-...); returns the id
    request: function (prefix, frame) {
      frame.id = nextId(prefix);
      asked[frame.id] = true;
      send(frame);
      return frame.id;
    },
    on: function (type, handler) { (listeners[type] = listeners[type] || []).push(handler); }
  };
  function emit(type, frame) {
    (listeners[type] || []).forEach(function (handler) { handler(frame); });
  }

  function onFrame(frame) {
    if (frame.type === "error" && asked[frame.ref]) {
      delete asked[frame.ref];
      emit("error", frame);  // a module's request (insights, inbox): it shows the error where it was asked
      return;
    }
    if (frame.type !== "error") emit(frame.type, frame);
    if (frame.type === "authed") {
      signedIn(frame);
      refresh();
      refreshCandidates();
      emit("signed-in", frame);
    } else if (frame.type === "candidates") {
      renderCandidates(frame.items);
    } else if (frame.type === "decided") {
      status(frame.candidate.status === "approved" ? "admin.status.approved" : "admin.status.discarded", null, true);
    } else if (frame.type === "versions") {
      renderVersions(frame);
    } else if (frame.type === "reload_done") {
      delete pending[frame.id];
      setBusy(false);
      var record = frame.record;
      if (record.outcome === "serving") {
        status("admin.status.serving", {
          build: record.build_id, seconds: i18n.number(record.seconds, { minimumFractionDigits: 1, maximumFractionDigits: 1 })
        }, true);
      } else if (record.outcome === "rejected") {
        status("admin.status.rejected", null, false);
      } else {
        status("admin.status.failed", { detail: record.detail || "" }, false);
      }
      renderIssues(frame.issues);
      refresh();
    } else if (frame.type === "error") {
      if (frame.ref && pending[frame.ref]) { delete pending[frame.ref]; setBusy(false); status(null); }
      var shown = errorText(frame);
      if (frame.code === "unauthorized" || frame.code === "admin_disabled" || frame.code === "session_expired") {
        var resumed = attempt === "resume" && frame.code === "unauthorized";
        signedOut();
        if (resumed) { signinFailed("admin.signin.ended"); } else { signinFailed(shown[0], shown[1]); }
      } else {
        showError(shown[0], shown[1]);
      }
    }
  }

  function signedIn(frame) {
    signingIn = false;
    if (frame.token) {  // an admin account: its session, resumed on reload
      sessionStorage.setItem(SESSION_KEY, frame.token);
      sessionStorage.removeItem(TOKEN_KEY);
      i18n.text($("admin-who"), "admin.who.account", { name: frame.admin.username });
      $("admin-who").title = frame.admin.display_name;
    } else {
      if (attempt === "token") { sessionStorage.setItem(TOKEN_KEY, $("admin-token").value); }
      sessionStorage.removeItem(SESSION_KEY);
      i18n.text($("admin-who"), "admin.who.token");
      $("admin-who").title = "";
    }
    $("admin-password").value = "";
    $("admin-token").value = "";
    $("admin-signin").hidden = true;
    $("admin-main").hidden = false;
    $("admin-who").hidden = false;
    $("admin-logout").hidden = false;
    signinFailed(null);
    showError(null);
  }

  // Back to the sign-in forms, forgetting the kept session or token.
  function signedOut() {
    sessionStorage.removeItem(SESSION_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    pending = {};
    setBusy(false);
    status(null);
    showError(null);
    $("admin-main").hidden = true;
    $("admin-serving").hidden = true;
    $("admin-who").hidden = true;
    $("admin-logout").hidden = true;
    $("admin-signin").hidden = false;
  }

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/admin";
  }

  function connect(first, kind) {
    attempt = kind;
    signingIn = true;
    $("admin-login-button").disabled = true;  // until the server answers
    $("admin-signin-button").disabled = true;
    ws = new WebSocket(socketUrl());
    var socket = ws;
    ws.onopen = function () { socket.send(JSON.stringify(first)); };
    ws.onmessage = function (event) {
      if (socket !== ws) { return; }  // signed out meanwhile
      try { onFrame(JSON.parse(event.data)); } catch (err) { showError("admin.unexpected"); }
    };
    ws.onclose = function () {
      if (socket !== ws) { return; }  // an earlier sign-in attempt, or signed out
      if (!$("admin-main").hidden) {
        showError("admin.connection_lost");
        setBusy(false);
      } else if (signingIn) {
        signinFailed("admin.signin.no_answer");
      }
    };
  }

  // Sign out: the server ends the session (over this connection, or a new one if it was lost).
  function signOut() {
    var session = sessionStorage.getItem(SESSION_KEY);
    var socket = ws;
    ws = null;  // what it still sends or its close is no longer this page's business
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: "logout" }));
    } else if (session) {
      var ender = new WebSocket(socketUrl());
      ender.onopen = function () {
        ender.send(JSON.stringify({ type: "auth", token: session }));
        ender.send(JSON.stringify({ type: "logout" }));
      };
    }
    signedOut();
    $("admin-username").focus();
  }

  $("admin-login").addEventListener("submit", function (event) {
    event.preventDefault();
    showError(null);
    signinFailed(null);
    var first = { type: "login", username: $("admin-username").value.trim(), password: $("admin-password").value };
    i18n.start().then(function () { connect(first, "login"); });  // its answers are shown in words of the catalogue
  });
  $("admin-token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    showError(null);
    signinFailed(null);
    var first = { type: "auth", token: $("admin-token").value };
    i18n.start().then(function () { connect(first, "token"); });
  });
  $("admin-reload").addEventListener("click", reload);
  $("admin-logout").addEventListener("click", signOut);

  // the texts first (the language switch, then the page), then the kept session or token, if any
  i18n.switcher($("admin-lang"));
  i18n.start().then(function () {
    i18n.attach(document.documentElement);
    var saved = sessionStorage.getItem(SESSION_KEY);
    var savedToken = sessionStorage.getItem(TOKEN_KEY);
    if (saved) {
      connect({ type: "auth", token: saved }, "resume");
    } else if (savedToken) {
      $("admin-token").value = savedToken;
      connect({ type: "auth", token: savedToken }, "token");
    }
  });
})();

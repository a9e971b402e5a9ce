/* Deskmate admin page: KB reload, versions and rollback over the admin websocket (/ws/admin).
   Sign in with an admin account (its session token is kept in sessionStorage and resumed on reload)
   or with the admin token. Every text from the server is inserted with textContent, never as HTML. */
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

  function showError(text) {
    var box = $("admin-error");
    box.textContent = text;
    box.hidden = !text;
  }

  // A server message as a sentence, its `commands` as code: text nodes only, never parsed as HTML.
  function sentence(box, text) {
    box.textContent = "";
    if (!text) { return; }
    var words = text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
    words.split("`").forEach(function (part, i) {
      if (i % 2 === 1) {
        var code = document.createElement("code");
        code.textContent = part;
        box.appendChild(code);
      } else {
        box.appendChild(document.createTextNode(part));
      }
    });
  }

  // Sign-in errors show above the forms; the field that was used gets the focus for another try.
  function signinFailed(text) {
    var box = $("admin-signin-error");
    sentence(box, text);
    box.hidden = !text;
    signingIn = false;
    $("admin-login-button").disabled = false;
    $("admin-signin-button").disabled = false;
    ["admin-token", "admin-password"].forEach(function (id) { $(id).removeAttribute("aria-invalid"); });
    if (!text) { return; }
    var field = attempt === "token" ? $("admin-token")
      : $("admin-username").value ? $("admin-password") : $("admin-username");
    if (field.id !== "admin-username") { field.setAttribute("aria-invalid", "true"); }
    field.focus();
    field.select();
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function badge(text, kind) {
    var span = document.createElement("span");
    span.className = "badge " + kind;
    span.textContent = text;
    return span;
  }

  function when(seconds) { return new Date(seconds * 1000).toLocaleString(); }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) { ws.send(JSON.stringify(frame)); return true; }
    showError("Not connected to the server; reload the page to sign in again.");
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
      approve.textContent = "Approve";
      approve.addEventListener("click", function () {
        var frame = { type: "approve", id: nextId("a"), candidate: candidate.id };
        if (answer.value.trim() !== candidate.answer) frame.answer = answer.value.trim();
        send(frame);
      });
      var discard = document.createElement("button");
      discard.type = "button";
      discard.className = "secondary candidate-discard";
      discard.textContent = "Discard";
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
    serving.textContent = "Serving " + frame.serving;
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
        action.appendChild(badge("serving", "serving"));
      } else {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.textContent = "Restore";
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
      cell(row, record.action);
      var outcome = cell(row, "");
      outcome.appendChild(badge(record.outcome, record.outcome === "serving" ? "ok" : record.outcome));
      cell(row, record.build_id || "-");
      cell(row, record.detail, "detail");
      history.appendChild(row);
    });
  }

  function status(text, ok) {
    var line = $("admin-status");
    line.textContent = text;
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
      status(type === "reload" ? "Reloading the knowledge base…" : "Restoring " + extra.build + "…");
    }
  }

  function reload() { start("reload", {}); }

  function rollback(build) {
    if (window.confirm("Serve build " + build + " again?")) { start("rollback", { build: build }); }
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
      status(frame.candidate.status === "approved"
        ? "Approved; it will be used after the next reload." : "Discarded.", true);
    } else if (frame.type === "versions") {
      renderVersions(frame);
    } else if (frame.type === "reload_done") {
      delete pending[frame.id];
      setBusy(false);
      var record = frame.record;
      if (record.outcome === "serving") {
        status("Now serving " + record.build_id + " (" + record.seconds.toFixed(1) + " s).", true);
      } else if (record.outcome === "rejected") {
        status("The knowledge base was rejected; the previous version is still serving. Fix these and reload:", false);
      } else {
        status("The new version failed its checks; the previous version is still serving. " + record.detail, false);
      }
      renderIssues(frame.issues);
      refresh();
    } else if (frame.type === "error") {
      if (frame.ref && pending[frame.ref]) { delete pending[frame.ref]; setBusy(false); status("", null); }
      if (frame.code === "unauthorized" || frame.code === "admin_disabled" || frame.code === "session_expired") {
        var resumed = attempt === "resume" && frame.code === "unauthorized";
        signedOut();
        signinFailed(resumed ? "your session has ended; sign in again" : frame.message);
      } else {
        showError(frame.message);
      }
    }
  }

  function signedIn(frame) {
    signingIn = false;
    if (frame.token) {  // an admin account: its session, resumed on reload
      sessionStorage.setItem(SESSION_KEY, frame.token);
      sessionStorage.removeItem(TOKEN_KEY);
      $("admin-who").textContent = "Signed in as " + frame.admin.username;
      $("admin-who").title = frame.admin.display_name;
    } else {
      if (attempt === "token") { sessionStorage.setItem(TOKEN_KEY, $("admin-token").value); }
      sessionStorage.removeItem(SESSION_KEY);
      $("admin-who").textContent = "Signed in with the admin token";
      $("admin-who").title = "";
    }
    $("admin-password").value = "";
    $("admin-token").value = "";
    $("admin-signin").hidden = true;
    $("admin-main").hidden = false;
    $("admin-who").hidden = false;
    $("admin-logout").hidden = false;
    signinFailed("");
    showError("");
  }

  // Back to the sign-in forms, forgetting the kept session or token.
  function signedOut() {
    sessionStorage.removeItem(SESSION_KEY);
    sessionStorage.removeItem(TOKEN_KEY);
    pending = {};
    setBusy(false);
    status("", null);
    showError("");
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
      try { onFrame(JSON.parse(event.data)); } catch (err) { showError("Unexpected reply from the server."); }
    };
    ws.onclose = function () {
      if (socket !== ws) { return; }  // an earlier sign-in attempt, or signed out
      if (!$("admin-main").hidden) {
        showError("The connection to the server was lost; reload the page to sign in again.");
        setBusy(false);
      } else if (signingIn) {
        signinFailed("No answer from the server; check that deskmate serve is running and try again.");
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
    showError("");
    signinFailed("");
    var username = $("admin-username").value.trim();
    connect({ type: "login", username: username, password: $("admin-password").value }, "login");
  });
  $("admin-token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    signinFailed("");
    connect({ type: "auth", token: $("admin-token").value }, "token");
  });
  $("admin-reload").addEventListener("click", reload);
  $("admin-logout").addEventListener("click", signOut);

  var saved = sessionStorage.getItem(SESSION_KEY);
  var savedToken = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    connect({ type: "auth", token: saved }, "resume");
  } else if (savedToken) {
    $("admin-token").value = savedToken;
    connect({ type: "auth", token: savedToken }, "token");
  }
})();

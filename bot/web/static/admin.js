/* Deskmate admin page: KB reload, versions and rollback over the admin websocket (/ws/admin).
   Every text from the server is inserted with textContent, never as HTML. */
(function () {
  "use strict";

  var TOKEN_KEY = "deskmate-admin-token";
  var $ = function (id) { return document.getElementById(id); };
  var ws = null;
  var counter = 0;
  var pending = {};

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

  // Sign-in errors show under the token field; the form stays open for another try.
  function signinFailed(text) {
    var box = $("admin-signin-error");
    sentence(box, text);
    box.hidden = !text;
    $("admin-signin-button").disabled = false;
    var field = $("admin-token");
    if (text) {
      field.setAttribute("aria-invalid", "true");
      field.focus();
      field.select();
    } else {
      field.removeAttribute("aria-invalid");
    }
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

  function onFrame(frame) {
    if (frame.type === "authed") {
      $("admin-signin").hidden = true;
      $("admin-main").hidden = false;
      signinFailed("");
      showError("");
      refresh();
      refreshCandidates();
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
      if (frame.code === "unauthorized" || frame.code === "admin_disabled") {
        sessionStorage.removeItem(TOKEN_KEY);
        $("admin-signin").hidden = false;
        $("admin-main").hidden = true;
        showError("");
        signinFailed(frame.message);
      } else {
        showError(frame.message);
      }
    }
  }

  function connect(token) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/ws/admin");
    ws.onopen = function () { ws.send(JSON.stringify({ type: "auth", token: token })); };
    ws.onmessage = function (event) {
      try { onFrame(JSON.parse(event.data)); } catch (err) { showError("Unexpected reply from the server."); }
    };
    var socket = ws;
    ws.onclose = function () {
      if (socket !== ws) { return; }  // an earlier sign-in attempt
      if (!$("admin-main").hidden) {
        showError("The connection to the server was lost; reload the page to sign in again.");
        setBusy(false);
      } else if ($("admin-signin-button").disabled) {
        signinFailed("No answer from the server; check that deskmate serve is running and try again.");
      }
    };
    sessionStorage.setItem(TOKEN_KEY, token);
  }

  $("admin-signin").addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    signinFailed("");
    $("admin-signin-button").disabled = true;  // until the server answers
    connect($("admin-token").value);
  });
  $("admin-reload").addEventListener("click", reload);

  var saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) { connect(saved); }
})();

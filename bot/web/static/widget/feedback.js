// Feedback: thumbs on each bot answer (a comment box on thumbs-down), and a 1-5 score when the chat
// has ended. Each choice goes to `send` once; the server refuses a second rating of the same thing.

import { el } from "./dom.js";

// Under a bot answer `node` (its wire id in data-id): "Helpful?" with 👍 and 👎. `rated` ("up" or
// "down") shows an earlier choice. rate(value, comment) sends it.
export function addThumbs(node, rated, rate) {
  var row = el("div", { "class": "deskmate-rate", role: "group", "aria-label": "Was this helpful?" });
  var up = el("button", { type: "button", "class": "deskmate-thumb", "data-value": "up", "aria-label": "Helpful" }, "👍");
  var down = el("button", { type: "button", "class": "deskmate-thumb", "data-value": "down", "aria-label": "Not helpful" }, "👎");
  row.appendChild(up);
  row.appendChild(down);
  function done(value, thanks) {
    up.disabled = down.disabled = true;
    (value === "up" ? up : down).classList.add("deskmate-chosen");
    if (thanks) row.appendChild(el("span", { "class": "deskmate-thanks" }, thanks));
  }
  if (rated) done(rated, "");
  up.addEventListener("click", function () { done("up", "Thanks!"); rate("up", null); });
  down.addEventListener("click", function () {
    done("down", "");
    row.appendChild(commentForm("What was wrong? (optional)", function (comment) {
      rate("down", comment);
      row.appendChild(el("span", { "class": "deskmate-thanks" }, "Thanks, we'll look into it."));
    }));
  });
  node.insertBefore(row, node.querySelector(".deskmate-time"));
}

// "How was this chat?" with 1 to 5 and an optional comment, added to the log.
export function surveyBox(send) {
  var box = el("div", { id: "deskmate-survey", "class": "deskmate-msg deskmate-survey", role: "group",
                        "aria-label": "Rate this chat" });
  box.appendChild(el("div", { "class": "deskmate-text" }, "How was this chat?"));
  var scores = el("div", { "class": "deskmate-scores" });
  var chosen = null;
  var form = commentForm("Anything to add? (optional)", function (comment) {
    box.textContent = "";
    box.appendChild(el("div", { "class": "deskmate-text" }, "Thank you for your feedback!"));
    send(chosen, comment);
  });
  form.hidden = true;
  for (var score = 1; score <= 5; score++) {
    (function (value) {
      var b = el("button", { type: "button", "class": "deskmate-score", "aria-label": value + " of 5" }, String(value));
      b.addEventListener("click", function () {
        chosen = value;
        var all = scores.querySelectorAll(".deskmate-score");
        for (var i = 0; i < all.length; i++) all[i].classList.toggle("deskmate-chosen", all[i] === b);
        form.hidden = false;
      });
      scores.appendChild(b);
    })(score);
  }
  box.appendChild(scores);
  box.appendChild(form);
  return box;
}

function commentForm(placeholder, submit) {
  var form = el("form", { "class": "deskmate-comment" });
  var text = el("input", { type: "text", maxlength: "1000", placeholder: placeholder, "aria-label": placeholder });
  form.appendChild(text);
  form.appendChild(el("button", { type: "submit" }, "Send"));
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var comment = text.value.trim() || null;
    form.parentNode.removeChild(form);
    submit(comment);
  });
  return form;
}

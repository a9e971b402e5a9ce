// Feedback: thumbs on each bot answer (a comment box on thumbs-down), and a 1-5 score when the chat
// has ended. Each choice goes to `send` once; the server refuses a second rating of the same thing.

import * as i18n from "../i18n/i18n.js";
import { el } from "./dom.js";

// Under a bot answer `node` (its wire id in data-id): "Was this helpful?" with 👍 and 👎. `rated` ("up" or
// "down") shows an earlier choice. rate(value, comment) sends it.
export function addThumbs(node, rated, rate) {
  var row = i18n.attr(el("div", { "class": "deskmate-rate", role: "group" }), "aria-label", "widget.rate");
  var up = i18n.attr(el("button", { type: "button", "class": "deskmate-thumb", "data-value": "up" }, "👍"),
                     "aria-label", "widget.rate.up");
  var down = i18n.attr(el("button", { type: "button", "class": "deskmate-thumb", "data-value": "down" }, "👎"),
                       "aria-label", "widget.rate.down");
  row.appendChild(up);
  row.appendChild(down);
  function done(value, thanks) {
    up.disabled = down.disabled = true;
    (value === "up" ? up : down).classList.add("deskmate-chosen");
    if (thanks) row.appendChild(i18n.text(el("span", { "class": "deskmate-thanks" }), thanks));
  }
  if (rated) done(rated, "");
  up.addEventListener("click", function () { done("up", "widget.rate.thanks"); rate("up", null); });
  down.addEventListener("click", function () {
    done("down", "");
    row.appendChild(commentForm("widget.rate.comment", function (comment) {
      rate("down", comment);
      row.appendChild(i18n.text(el("span", { "class": "deskmate-thanks" }), "widget.rate.noted"));
    }));
  });
  node.insertBefore(row, node.querySelector(".deskmate-time"));
}

// "How was this chat?" with 1 to 5 and an optional comment, added to the log.
export function surveyBox(send) {
  var box = i18n.attr(el("div", { id: "deskmate-survey", "class": "deskmate-msg deskmate-survey", role: "group" }),
                      "aria-label", "widget.survey");
  box.appendChild(i18n.text(el("div", { "class": "deskmate-text" }), "widget.survey.question"));
  var scores = el("div", { "class": "deskmate-scores" });
  var chosen = null;
  var form = commentForm("widget.survey.comment", function (comment) {
    box.textContent = "";
    box.appendChild(i18n.text(el("div", { "class": "deskmate-text" }), "widget.survey.thanks"));
    send(chosen, comment);
  });
  form.hidden = true;
  for (var score = 1; score <= 5; score++) {
    (function (value) {
      var b = i18n.attr(el("button", { type: "button", "class": "deskmate-score" }, i18n.format(value)),
                        "aria-label", "widget.survey.score", { score: value, max: 5 });
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

// A one-line comment and Send; `placeholder`: the catalogue key of its hint.
function commentForm(placeholder, submit) {
  var form = el("form", { "class": "deskmate-comment" });
  var text = el("input", { type: "text", maxlength: "1000" });
  i18n.attr(text, "placeholder", placeholder);
  i18n.attr(text, "aria-label", placeholder);
  form.appendChild(text);
  form.appendChild(i18n.text(el("button", { type: "submit" }), "widget.send"));
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var comment = text.value.trim() || null;
    form.parentNode.removeChild(form);
    submit(comment);
  });
  return form;
}

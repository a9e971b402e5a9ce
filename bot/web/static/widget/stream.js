// Streamed replies: a generated reply arrives as deltas into one bubble, then the stored reply
// replaces its text. A withheld generation answered otherwise (a clarification, a handoff) is removed.

function streamNode(view, stream) {
  var nodes = view.ui.messages.querySelectorAll(".deskmate-streaming");
  for (var i = 0; i < nodes.length; i++) if (nodes[i].getAttribute("data-stream") === String(stream)) return nodes[i];
  return null;
}

export function addDelta(view, f) {
  var node = streamNode(view, f.stream);
  if (!node) {
    node = view.addMsg("bot", "", null, "deskmate-streaming");
    if (!node) return;
    node.setAttribute("data-stream", String(f.stream));
  }
  var text = node.querySelector(".deskmate-text");
  text.textContent += String(f.text == null ? "" : f.text);
  view.scrollDown();
}

export function dropStream(view, f) {
  var node = f.stream ? streamNode(view, f.stream) : null;
  if (node && node.parentNode) node.parentNode.removeChild(node);
}

// True when the reply finished a streamed bubble (so it is not added again).
export function finishStream(view, f) {
  if (!f.stream) return false;
  var node = streamNode(view, f.stream);
  if (!node) return false;
  node.querySelector(".deskmate-text").textContent = f.text;
  node.classList.remove("deskmate-streaming");
  node.setAttribute("data-id", String(f.id));
  return true;
}

// The websocket: connect, say hello, reconnect with backoff (0.5 s doubling to 10 s), hand each
// JSON frame to onFrame. `ready` is true between the server's welcome and the socket closing.

export class Connection {
  // url: the customer websocket; hello(): the first frame to send; onFrame(frame); onLost(): reconnecting.
  constructor(url, hello, onFrame, onLost) {
    this.url = url;
    this.hello = hello;
    this.onFrame = onFrame;
    this.onLost = onLost;
    this.ws = null;
    this.ready = false;
    this.backoff = 500;
    this.timer = null;
  }

  connect() {
    clearTimeout(this.timer);
    this.ready = false;
    var self = this;
    var sock;
    try { sock = new WebSocket(this.url); } catch (e) { this.reconnectLater(); return; }
    this.ws = sock;
    sock.onopen = function () { if (self.ws === sock) self.send(self.hello()); };
    sock.onmessage = function (ev) {
      if (self.ws !== sock) return;
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data && typeof data === "object") self.onFrame(data);
    };
    sock.onclose = function () {
      if (self.ws !== sock) return;
      self.ws = null;
      self.ready = false;
      self.reconnectLater();
    };
    sock.onerror = function () { /* onclose follows and reconnects */ };
  }

  // The server welcomed us: messages may be sent, and the next loss starts the backoff again.
  welcomed() {
    this.ready = true;
    this.backoff = 500;
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) { this.ws.send(JSON.stringify(frame)); return true; }
    return false;
  }

  close() { if (this.ws) this.ws.close(); }

  reconnectLater() {
    this.onLost();
    clearTimeout(this.timer);
    this.timer = setTimeout(this.connect.bind(this), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 10000);
  }
}

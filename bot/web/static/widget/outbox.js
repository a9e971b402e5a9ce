// What the customer sent and the server has not acknowledged yet, oldest first, and the session
// token. Both are kept in localStorage, so a reload or a closed laptop lid loses nothing; the server
// dedupes by id, so resending is always safe.
// Items: {id, text, intent?} messages, or {id, contact: true, email, text} contact requests.

var TOKEN_KEY = "deskmate.session";
var PENDING_KEY = "deskmate.pending";

export function getToken() { try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
export function setToken(t) { try { localStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode */ } }
export function dropToken() { try { localStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ } }

export function newId() {
  if (window.crypto && typeof crypto.randomUUID === "function") return "m-" + crypto.randomUUID();
  return "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
}

export class Outbox {
  constructor() { this.items = load(); }

  add(item) { this.items.push(item); this.save(); }
  has(id) { return this.items.some(function (m) { return m.id === id; }); }
  // The server stored it (ack), or refused it for good: stop resending.
  remove(id) {
    this.items = this.items.filter(function (m) { return m.id !== id; });
    this.save();
  }
  save() { try { localStorage.setItem(PENDING_KEY, JSON.stringify(this.items)); } catch (e) { /* ignore */ } }
}

function load() {
  try { var p = JSON.parse(localStorage.getItem(PENDING_KEY) || "[]"); return Array.isArray(p) ? p : []; }
  catch (e) { return []; }
}

// The pages' texts in several languages, shared by the widget, the agent console and the admin page.
// One catalogue per language beside this module (en.json, zh.json: flat {"key": "text"}), read from
// the Deskmate server this module came from, so the widget embedded on a shop's site gets them too.
//
// Which language a page starts in (docs/protocol.md, "Page languages"):
//   1. the one chosen with the page's language switch (kept in localStorage "deskmate.lang"), else
//   2. for the widget, the embedding tag's data-lang="zh", if there is a catalogue for it, else
//   3. the browser's language (navigator.language; zh-CN, zh-TW... -> zh), if there is a catalogue, else
//   4. the KB's default language (GET /site.json), if there is a catalogue for it, else
//   5. English.
//
// t(key, params): the text of `key` in the current language (English when the current catalogue
// lacks it; the key itself when English does too, so a missing text is seen). "{name}" in a text
// is replaced by params.name: a number is formatted for the language (Intl.NumberFormat), and
// markers made here are too: msg(key, params) (a translated text), date(value, style)
// (Intl.DateTimeFormat), number(value, style) (Intl.NumberFormat), list(items) (joined with the
// language's "list.separator"). A catalogue value may be an object of plural forms
// ({"one": ..., "other": ...}), chosen by params.count (Intl.PluralRules).
//
// text(node, key, params) and attr(node, name, key, params) put a text in the page and remember
// where it came from (data-i18n, data-i18n-title, ..., data-i18n-params), so a switch of language
// re-translates every such element at once, without a reload and without touching anything else (the
// chat, what the customer typed, the server's texts). `code` between backticks in a catalogue's text
// (or in a rich(...) param: a server's message) is shown as code; backticks a customer typed stay
// as they are. Everything goes in as textContent or attribute values, never as HTML.

export var LANGUAGES = ["en", "zh"];  // English first: the fallback for a missing key
var LOCALES = { en: "en", zh: "zh-CN" };  // the lang attribute and Intl locale of each
var STORAGE_KEY = "deskmate.lang";
var ATTRS = ["placeholder", "title", "aria-label"];
var SELECTOR = ["[data-i18n]"].concat(ATTRS.map(function (name) { return "[data-i18n-" + name + "]"; })).join(",");

var catalogues = {};  // language -> {key: text}
var current = "en";
var roots = [];  // elements re-translated on a switch (a page's <html>, the widget's root)
var switches = [];  // the language <select>s shown
var listeners = [];
var started = null;

// ---------- texts ----------

export function language() { return current; }
export function locale() { return LOCALES[current] || current; }

// True when `key` has a text in English (the catalogue every other one follows).
export function has(key) { return own(catalogues.en, key) != null || own(catalogues[current], key) != null; }

export function t(key, params) {
  return segments(key, params).map(function (part) { return part.text; }).join("");
}

// The text of `key` as [{text, code}] parts: `code` between backticks in the catalogue's text, and
// in a rich(...) param, is code; anything else a param holds (what a customer typed...) is text.
function segments(key, params) {
  params = params || {};
  var lang = current;
  var entry = own(catalogues[lang], key);
  if (entry == null) { lang = "en"; entry = own(catalogues.en, key); }
  if (entry == null) return [{ text: String(key), code: false }];
  if (typeof entry === "object") entry = entry[pluralForm(lang, params.count)] || entry.other || "";
  var parts = [];
  function add(text, code) { if (text) parts.push({ text: text, code: code }); }
  String(entry).split("`").forEach(function (piece, i) {
    var code = i % 2 === 1;
    var done = 0;
    piece.replace(/\{(\w+)\}/g, function (whole, name, at) {
      add(piece.slice(done, at), code);
      done = at + whole.length;
      var value = Object.prototype.hasOwnProperty.call(params, name) ? params[name] : undefined;
      if (value === undefined) add(whole, code);
      else if (value && typeof value.rich === "string" && !code) {
        value.rich.split("`").forEach(function (bit, j) { add(bit, j % 2 === 1); });
      } else add(format(value), code);
      return whole;
    });
    add(piece.slice(done), code);
  });
  return parts;
}

// Markers for params, formatted in the language current when the text is (re)drawn.
export function msg(key, params) { return { key: key, params: params || {} }; }
export function date(value, style) {
  var when = value instanceof Date ? value : new Date(typeof value === "number" ? value * 1000 : value);
  return { date: isNaN(when.getTime()) ? null : when.toISOString(), style: style || null };
}
export function number(value, style) { return { number: value, style: style || null }; }
export function list(items) { return { list: items }; }
// Text of ours or the server's whose `commands` between backticks show as code (never a customer's).
export function rich(text) { return { rich: text == null ? "" : String(text) }; }

// A param (or marker) as text in the current language.
export function format(value) {
  if (value == null) return "";
  if (typeof value === "number") return isFinite(value) ? new Intl.NumberFormat(locale()).format(value) : "";
  if (typeof value !== "object") return String(value);
  if (typeof value.key === "string") return t(value.key, value.params);
  if (typeof value.rich === "string") return value.rich.replace(/`/g, "");
  if ("date" in value) {
    if (!value.date) return "";
    return new Intl.DateTimeFormat(locale(), value.style || { dateStyle: "medium", timeStyle: "short" })
      .format(new Date(value.date));
  }
  if ("number" in value) {
    return value.number == null ? "" : new Intl.NumberFormat(locale(), value.style || undefined).format(value.number);
  }
  if (Array.isArray(value.list)) return value.list.map(format).join(t("list.separator"));
  return "";
}

// The text for a server error frame on a page (`page`: widget, console, admin): the catalogue's
// text for its code ("PAGE.error.CODE"), else the server's own (English) words, else a general one.
// Returns [key, params] for text(); the server's words are params.message (its `commands` as
// code); `extra` params are passed on.
export function error(page, frame, extra) {
  var message = (frame && frame.message) || "";
  var params = Object.assign({ message: rich(message) }, extra || {});
  var key = page + ".error." + ((frame && frame.code) || "");
  if (frame && frame.code && has(key)) return [key, params];
  return [message ? "error.other" : "error.unknown", params];
}

function own(catalogue, key) {
  return catalogue && Object.prototype.hasOwnProperty.call(catalogue, key) ? catalogue[key] : null;
}

function pluralForm(lang, count) {
  if (typeof count !== "number" || typeof Intl.PluralRules !== "function") return "other";
  return new Intl.PluralRules(LOCALES[lang] || lang).select(count);
}

// ---------- the page ----------

// Put the text of `key` in `node` (remembered: re-translated on a switch, which replaces the node's
// content: give it no other children). Returns node.
export function text(node, key, params) {
  node.setAttribute("data-i18n", key);
  keepParams(node, params);
  fill(node, segments(key, params));
  return node;
}

// Put the text of `key` in the attribute `name` (placeholder, title or aria-label) of `node`.
// An element keeps one params object, shared by its text and attributes.
export function attr(node, name, key, params) {
  node.setAttribute("data-i18n-" + name, key);
  if (params !== undefined) keepParams(node, params);
  node.setAttribute(name, t(key, readParams(node)));
  return node;
}

// Text that is not ours to translate (what a customer or the server wrote): shown as it is, and a
// switch of language leaves it alone.
export function plain(node, value) {
  node.removeAttribute("data-i18n");
  node.removeAttribute("data-i18n-params");
  node.textContent = value == null ? "" : String(value);
  return node;
}

// (Re)translate every remembered text in `root` (an element or the document), root included.
export function translate(root) {
  root = root || document;
  var nodes = Array.prototype.slice.call(root.querySelectorAll(SELECTOR));
  if (root.matches && root.matches(SELECTOR)) nodes.unshift(root);
  nodes.forEach(function (node) {
    var params = readParams(node);
    var key = node.getAttribute("data-i18n");
    if (key) fill(node, segments(key, params));
    ATTRS.forEach(function (name) {
      var attrKey = node.getAttribute("data-i18n-" + name);
      if (attrKey) node.setAttribute(name, t(attrKey, params));
    });
  });
}

function keepParams(node, params) {
  if (params && Object.keys(params).length) node.setAttribute("data-i18n-params", JSON.stringify(params));
  else node.removeAttribute("data-i18n-params");
}

function readParams(node) {
  var kept = node.getAttribute("data-i18n-params");
  if (!kept) return {};
  try { return JSON.parse(kept) || {}; } catch (e) { return {}; }
}

// A text's parts as the node's content: text nodes, and <code> elements for code (never HTML).
function fill(node, parts) {
  if (!parts.some(function (part) { return part.code; })) {
    node.textContent = parts.map(function (part) { return part.text; }).join("");
    return;
  }
  node.textContent = "";
  parts.forEach(function (part) {
    if (!part.code) { node.appendChild(document.createTextNode(part.text)); return; }
    var code = document.createElement("code");
    code.textContent = part.text;
    node.appendChild(code);
  });
}

// Translate `root` now and on every switch, and give it the language's lang attribute
// (a page's <html>; the widget's own root, never the lang of the shop's page around it).
export function attach(root) {
  if (roots.indexOf(root) < 0) roots.push(root);
  root.setAttribute("lang", locale());
  translate(root);
  return root;
}

// fn(language) after each switch, once the page's texts are re-translated (to redraw a chart...).
export function onChange(fn) { listeners.push(fn); }

// The language switch: a <select> of the catalogues' languages, each named in its own language.
export function switcher(select) {
  select = select || document.createElement("select");
  select.textContent = "";
  LANGUAGES.forEach(function (lang) {
    var option = document.createElement("option");
    option.value = lang;
    option.setAttribute("lang", LOCALES[lang] || lang);
    text(option, "language." + lang);
    select.appendChild(option);
  });
  attr(select, "aria-label", "language.label");
  attr(select, "title", "language.label");
  select.value = current;
  select.addEventListener("change", function () { use(select.value, true); });
  switches.push(select);
  return select;
}

// Switch to `lang` (loading its catalogue first); `remember`: the user chose it, keep the choice.
export function use(lang, remember) {
  lang = supported(lang) || "en";
  if (remember) store(lang);
  return load(lang).then(function (ok) {
    current = ok ? lang : "en";
    roots.forEach(function (root) { root.setAttribute("lang", locale()); translate(root); });
    switches.forEach(function (select) { select.value = current; });
    listeners.forEach(function (fn) { fn(current); });
    return current;
  });
}

// Pick the page's language (the rule above) and load its catalogue and English. `options`:
// {preferred: the widget tag's data-lang, or null}. Resolves with the language; never rejects (with
// no catalogue at all, the keys show).
export function start(options) {
  if (started) return started;
  var preferred = options && options.preferred;
  started = pick(preferred).then(function (lang) {
    return Promise.all([load("en"), load(lang)]).then(function (loaded) {
      current = loaded[1] ? lang : "en";
      switches.forEach(function (select) { select.value = current; });
      return current;
    });
  });
  return started;
}

// The first step of the rule that names a language with a catalogue.
function pick(preferred) {
  var browser = typeof navigator !== "undefined" ? navigator.language : null;
  var chosen = supported(stored()) || supported(preferred) || supported(browser);
  if (chosen) return Promise.resolve(chosen);
  return fetch(new URL("../site.json", import.meta.url).href, { credentials: "omit" })
    .then(function (response) { return response.ok ? response.json() : {}; })
    .then(function (site) { return supported(site && site.language) || "en"; })
    .catch(function () { return "en"; });
}

// "zh-CN" -> "zh" when there is a zh catalogue; null when there is none for the tag.
export function supported(tag) {
  if (typeof tag !== "string" || !tag) return null;
  var primary = tag.trim().toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.indexOf(primary) >= 0 ? primary : null;
}

function stored() { try { return localStorage.getItem(STORAGE_KEY); } catch (e) { return null; } }
function store(lang) { try { localStorage.setItem(STORAGE_KEY, lang); } catch (e) { /* private mode */ } }

var loading = {};
function load(lang) {
  if (catalogues[lang]) return Promise.resolve(true);
  if (!loading[lang]) {
    loading[lang] = fetch(new URL("./" + lang + ".json", import.meta.url).href, { credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (catalogue) { catalogues[lang] = catalogue; return true; })
      .catch(function (exc) {
        delete loading[lang];  // tried again on the next switch
        console.error("Deskmate: the " + lang + " texts could not be loaded", exc);
        return false;
      });
  }
  return loading[lang];
}

// Insights: how the bot is doing over a period, from the store, drawn with Chart.js (served by
// Deskmate from bot/web/static/vendor/, installed from the npm registry). Every chart has a CSV
// export of exactly the numbers it draws (its columns named by stable ids, for spreadsheets and
// scripts; the page's table of the same numbers names them in the page's language). The texts come
// from the catalogue (i18n/i18n.js); a switch of language draws the figures again in the new one.

import * as i18n from "../i18n/i18n.js";

var msg = i18n.msg;
var admin = window.DeskmateAdmin;
var Chart = window.Chart;
var DAY = 86400;
var charts = [];
var requested = null;
var shown = null;  // the figures on the page, drawn again after a switch of language
// the charts' words in the page's fonts (CJK fallbacks included), not Chart.js's Latin-only default
if (Chart) Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;

var $ = function (id) { return document.getElementById(id); };

// An element with a text as it is (a number: formatted), or the catalogue's for an i18n message.
function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null && typeof text === "object" && typeof text.key === "string") i18n.text(node, text.key, text.params);
  else if (text != null) node.textContent = i18n.format(text);
  return node;
}

function t(key, params) { return i18n.t(key, params); }

// [since, until) in unix seconds for the chosen period; null while a custom one is incomplete.
function period() {
  var choice = $("insights-period").value;
  var now = Date.now() / 1000;
  if (choice === "custom") {
    var since = $("insights-since").valueAsNumber, until = $("insights-until").valueAsNumber;
    if (isNaN(since) || isNaN(until)) return null;
    return { since: since / 1000, until: until / 1000 + DAY };  // the "to" day is included
  }
  if (choice === "1") {
    var midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    return { since: midnight.getTime() / 1000, until: now };
  }
  return { since: now - Number(choice) * DAY, until: now };
}

function load() {
  var chosen = period();
  if (!chosen) return;
  requested = admin.request("ins", { type: "insights", since: chosen.since, until: chosen.until });
}

var ONE_DECIMAL = { minimumFractionDigits: 1, maximumFractionDigits: 1 };
var TWO_DECIMALS = { minimumFractionDigits: 2, maximumFractionDigits: 2 };

function seconds(value) {
  if (value == null) return "–";
  if (value < 90) return msg("time.seconds", { count: Math.round(value) });
  if (value < 5400) return msg("time.minutes", { count: Math.round(value / 60) });
  return msg("time.hours", { count: i18n.number(value / 3600, ONE_DECIMAL) });
}
function percent(share) {
  return share == null ? "–" : i18n.number(Math.round(share * 100) / 100, { style: "percent" });
}

// label, value, note: texts (i18n messages, or numbers and signs shown as they are).
function tile(label, value, note) {
  var box = el("div", "tile");
  box.appendChild(el("span", "tile-value", value));
  box.appendChild(el("span", "tile-label", label));
  if (note) box.appendChild(el("span", "tile-note", note));
  return box;
}

function renderTiles(data) {
  var o = data.overview, w = data.waits, s = data.satisfaction;
  var up = 0, down = 0;
  data.thumbs.forEach(function (row) { up += row.up; down += row.down; });
  var tiles = $("insights-tiles");
  tiles.textContent = "";
  tiles.appendChild(tile(msg("admin.insights.conversations"), o.conversations,
    msg("admin.insights.conversations.note", { count: o.engaged })));
  tiles.appendChild(tile(msg("admin.insights.resolved"), percent(o.resolved_share),
    msg("admin.insights.resolved.note", { resolved: o.resolved, engaged: o.engaged, escalated: o.escalated, abandoned: o.abandoned })));
  tiles.appendChild(tile(msg("admin.insights.handoffs"), w.handoffs, msg("admin.insights.handoffs.note", { count: w.joined })));
  tiles.appendChild(tile(msg("admin.insights.wait"), seconds(w.median_to_join),
    msg("admin.insights.wait.note", { wait: seconds(w.median_to_first_message) })));
  tiles.appendChild(tile(msg("admin.insights.satisfaction"),
    s.average == null ? "–" : msg("admin.insights.satisfaction.value", { average: i18n.number(s.average, ONE_DECIMAL), max: 5 }),
    msg("admin.insights.satisfaction.note", { count: s.surveys })));
  tiles.appendChild(tile(msg("admin.insights.rated"), msg("admin.insights.rated.value", { up: up, down: down }),
    msg("admin.insights.rated.note", { count: o.rated_down })));
}

// One chart card: a title, a canvas, a table for screen readers, a CSV export. title: a catalogue
// key; columns: the CSV's column ids, each also a key (admin.insights.col.ID) of the catalogue.
function card(id, title, columns, rows, config) {
  var box = el("section", "panel chart");
  box.id = id;
  var head = el("div", "chart-head");
  head.appendChild(el("h3", null, msg(title)));
  var csv = el("button", "secondary csv", msg("admin.insights.csv"));
  csv.type = "button";
  csv.addEventListener("click", function () {
    download(id.replace(/^chart-/, "") + ".csv", toCsv(columns, rows));
  });
  head.appendChild(csv);
  box.appendChild(head);
  if (!rows.length) {
    box.appendChild(el("p", "hint", msg("admin.insights.nothing")));
  } else {
    var canvas = el("canvas");
    canvas.setAttribute("role", "img");
    i18n.attr(canvas, "aria-label", title);
    box.appendChild(canvas);
    if (Chart) charts.push(new Chart(canvas, config));
  }
  box.appendChild(table(columns.map(function (column) { return msg("admin.insights.col." + column); }), rows));
  $("insights-charts").appendChild(box);
}

// A file download from text made here (the link exists only for the click).
function download(name, text) {
  var link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
}

function table(header, rows) {
  var details = el("details", "chart-data");
  details.appendChild(el("summary", null, msg("admin.insights.data")));
  var grid = el("table");
  var tr = el("tr");
  header.forEach(function (h) { tr.appendChild(el("th", null, h)); });
  var thead = el("thead");
  thead.appendChild(tr);
  grid.appendChild(thead);
  var tbody = el("tbody");
  rows.forEach(function (row) {
    var line = el("tr");
    row.forEach(function (value) { line.appendChild(el("td", null, value == null ? "" : value)); });
    tbody.appendChild(line);
  });
  grid.appendChild(tbody);
  details.appendChild(grid);
  return details;
}

function toCsv(header, rows) {
  function field(value) {
    var text = value == null ? "" : typeof value === "object" ? String(value.csv) : String(value);
    if (/^[=+\-@]/.test(text)) text = "'" + text;  // never a formula when opened in a spreadsheet
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  return [header].concat(rows).map(function (row) { return row.map(field).join(","); }).join("\n") + "\n";
}

function bar(labels, datasets, options) {
  return { type: "bar", data: { labels: labels, datasets: datasets },
           options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false, locale: i18n.locale() },
                                  options || {}) };
}

// A name the server sent (a handoff reason...): ours for it in the page's language, else as it is.
function named(prefix, name) {
  if (!name) return t("admin.insights.none");
  return i18n.has(prefix + name) ? t(prefix + name) : name;
}

// A table cell in words of ours (an i18n message), with what its CSV field holds instead.
var NONE = { key: "admin.insights.none", params: {}, csv: "(none)" };
var BOT_ALONE = { key: "admin.insights.bot_alone", params: {}, csv: "the bot alone" };
function cell(prefix, name) {
  return i18n.has(prefix + name) ? { key: prefix + name, params: {}, csv: name } : name;
}

var GREEN = "#2f6f4f", AMBER = "#d97706", RED = "#b91c1c", BLUE = "#2f5f7f", GREY = "#9ca3af";

// The charts. Labels are drawn into the canvas, so a switch of language draws them all again.
// A CSV holds the numbers as they are (the page's table: formatted for the language).
function renderCharts(data) {
  charts.forEach(function (chart) { chart.destroy(); });
  charts = [];
  $("insights-charts").textContent = "";
  var days = data.daily;
  card("chart-trend", "admin.insights.chart.trend",
    ["day", "conversations", "resolved", "handoffs", "thumbs_up", "thumbs_down", "surveys", "average_score"],
    days.map(function (d) {
      return [d.day, d.outcomes.conversations, d.outcomes.resolved, d.handoffs, d.thumbs_up, d.thumbs_down, d.surveys,
              d.average_score == null ? null : d.average_score.toFixed(2)];
    }),
    { type: "line",
      data: { labels: days.map(function (d) { return d.day; }),
              datasets: [
                { label: t("admin.insights.col.conversations"), data: days.map(function (d) { return d.outcomes.conversations; }), borderColor: BLUE },
                { label: t("admin.insights.col.resolved"), data: days.map(function (d) { return d.outcomes.resolved; }), borderColor: GREEN },
                { label: t("admin.insights.col.handoffs"), data: days.map(function (d) { return d.handoffs; }), borderColor: AMBER }
              ] },
      options: { animation: false, responsive: true, maintainAspectRatio: false, locale: i18n.locale() } });
  var reasons = data.handoff_reasons;
  card("chart-handoffs", "admin.insights.chart.handoffs", ["reason", "handoffs"],
    reasons.map(function (r) { return [r.name ? cell("admin.insights.reason.", r.name) : NONE, r.count]; }),
    bar(reasons.map(function (r) { return named("admin.insights.reason.", r.name); }),
        [{ label: t("admin.insights.col.handoffs"), data: reasons.map(function (r) { return r.count; }), backgroundColor: AMBER }],
        { plugins: { legend: { display: false } } }));
  var dist = data.satisfaction.distribution;
  card("chart-satisfaction", "admin.insights.chart.satisfaction", ["score", "surveys"],
    dist.map(function (n, i) { return [i + 1, n]; }).filter(function (row, i, all) { return all.some(function (r) { return r[1]; }); }),
    bar(["1", "2", "3", "4", "5"], [{ label: t("admin.insights.col.surveys"), data: dist, backgroundColor: [RED, AMBER, GREY, GREEN, GREEN] }],
        { plugins: { legend: { display: false } } }));
  var agents = data.satisfaction.by_agent;
  card("chart-agents", "admin.insights.chart.agents", ["agent", "surveys", "average"],
    agents.map(function (a) { return [a.agent || BOT_ALONE, a.surveys, a.average.toFixed(2)]; }),
    bar(agents.map(function (a) { return a.agent || t("admin.insights.bot_alone"); }),
        [{ label: t("admin.insights.col.average"), data: agents.map(function (a) { return a.average; }), backgroundColor: GREEN }],
        { scales: { y: { min: 0, max: 5 } }, plugins: { legend: { display: false } } }));
  var thumbs = data.thumbs;
  card("chart-thumbs", "admin.insights.chart.thumbs", ["intent", "up", "down"],
    thumbs.map(function (row) { return [row.intent || NONE, row.up, row.down]; }),
    bar(thumbs.map(function (row) { return row.intent || t("admin.insights.none"); }),
        [{ label: "👍", data: thumbs.map(function (row) { return row.up; }), backgroundColor: GREEN },
         { label: "👎", data: thumbs.map(function (row) { return row.down; }), backgroundColor: RED }],
        { scales: { x: { stacked: true }, y: { stacked: true } } }));
  var top = data.top_intents;
  card("chart-intents", "admin.insights.chart.intents", ["intent", "answers"],
    top.map(function (row) { return [row.name, row.count]; }),
    bar(top.map(function (row) { return row.name; }),
        [{ label: t("admin.insights.col.answers"), data: top.map(function (row) { return row.count; }), backgroundColor: BLUE }],
        { indexAxis: "y", plugins: { legend: { display: false } } }));
}

admin.on("insights", function (frame) {
  if (frame.id !== requested) return;  // an answer to an earlier choice
  $("insights-error").hidden = true;
  shown = frame;
  renderTiles(frame);
  renderCharts(frame);
});
admin.on("error", function (frame) {
  if (frame.ref !== requested) return;
  var text = i18n.error("admin", frame);
  i18n.text($("insights-error"), text[0], text[1]);
  $("insights-error").hidden = false;
});
// a switch of language: the tiles re-translate in place; the charts' canvases are drawn again
i18n.onChange(function () { if (shown) renderCharts(shown); });
admin.on("signed-in", load);
admin.on("reload_done", load);

$("insights-period").addEventListener("change", function () {
  var custom = $("insights-period").value === "custom";
  $("insights-custom").hidden = !custom;
  if (!custom) load();
});
$("insights-apply").addEventListener("click", load);
document.addEventListener("deskmate-admin-tab", function (event) { if (event.detail === "insights") load(); });

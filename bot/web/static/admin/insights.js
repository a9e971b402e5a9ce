// Insights: how the bot is doing over a period, from the store, drawn with Chart.js (served by
// Deskmate from bot/web/static/vendor/, installed from the npm registry). Every chart has a CSV
// export of exactly the numbers it draws.

var admin = window.DeskmateAdmin;
var Chart = window.Chart;
var DAY = 86400;
var charts = [];
var requested = null;

var $ = function (id) { return document.getElementById(id); };

function el(tag, className, text) {
  var node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = String(text);
  return node;
}

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

function seconds(value) {
  if (value == null) return "–";
  if (value < 90) return Math.round(value) + " s";
  if (value < 5400) return Math.round(value / 60) + " min";
  return (value / 3600).toFixed(1) + " h";
}
function percent(share) { return share == null ? "–" : Math.round(share * 100) + "%"; }

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
  tiles.appendChild(tile("conversations", o.conversations, o.engaged + " with a customer message"));
  tiles.appendChild(tile("resolved by the bot", percent(o.resolved_share),
    o.resolved + " of " + o.engaged + "; " + o.escalated + " to a person, " + o.abandoned + " abandoned"));
  tiles.appendChild(tile("handoffs", w.handoffs, w.joined + " taken by an agent"));
  tiles.appendChild(tile("median wait for an agent", seconds(w.median_to_join),
    "first agent reply after " + seconds(w.median_to_first_message)));
  tiles.appendChild(tile("satisfaction", s.average == null ? "–" : s.average.toFixed(1) + " / 5", s.surveys + " surveys"));
  tiles.appendChild(tile("answers rated", up + " 👍 · " + down + " 👎", o.rated_down + " conversations with a 👎"));
}

// One chart card: a title, a canvas, a table for screen readers, a CSV export.
function card(id, title, header, rows, config) {
  var box = el("section", "panel chart");
  box.id = id;
  var head = el("div", "chart-head");
  head.appendChild(el("h3", null, title));
  var csv = el("button", "secondary csv", "Export CSV");
  csv.type = "button";
  csv.addEventListener("click", function () {
    download(id.replace(/^chart-/, "") + ".csv", toCsv(header, rows));
  });
  head.appendChild(csv);
  box.appendChild(head);
  if (!rows.length) {
    box.appendChild(el("p", "hint", "Nothing in this period."));
  } else {
    var canvas = el("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title);
    box.appendChild(canvas);
    if (Chart) charts.push(new Chart(canvas, config));
  }
  box.appendChild(table(header, rows));
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
  details.appendChild(el("summary", null, "Data"));
  var t = el("table");
  var tr = el("tr");
  header.forEach(function (h) { tr.appendChild(el("th", null, h)); });
  var thead = el("thead");
  thead.appendChild(tr);
  t.appendChild(thead);
  var tbody = el("tbody");
  rows.forEach(function (row) {
    var line = el("tr");
    row.forEach(function (value) { line.appendChild(el("td", null, value == null ? "" : value)); });
    tbody.appendChild(line);
  });
  t.appendChild(tbody);
  details.appendChild(t);
  return details;
}

function toCsv(header, rows) {
  function field(value) {
    var text = value == null ? "" : String(value);
    if (/^[=+\-@]/.test(text)) text = "'" + text;  // never a formula when opened in a spreadsheet
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  return [header].concat(rows).map(function (row) { return row.map(field).join(","); }).join("\n") + "\n";
}

function bar(labels, datasets, options) {
  return { type: "bar", data: { labels: labels, datasets: datasets },
           options: Object.assign({ animation: false, responsive: true, maintainAspectRatio: false }, options || {}) };
}

var GREEN = "#2f6f4f", AMBER = "#d97706", RED = "#b91c1c", BLUE = "#2f5f7f", GREY = "#9ca3af";

function renderCharts(data) {
  charts.forEach(function (chart) { chart.destroy(); });
  charts = [];
  $("insights-charts").textContent = "";
  var days = data.daily;
  card("chart-trend", "Per day",
    ["day", "conversations", "resolved by the bot", "handoffs", "thumbs up", "thumbs down", "surveys", "average score"],
    days.map(function (d) {
      return [d.day, d.outcomes.conversations, d.outcomes.resolved, d.handoffs, d.thumbs_up, d.thumbs_down, d.surveys,
              d.average_score == null ? null : d.average_score.toFixed(2)];
    }),
    { type: "line",
      data: { labels: days.map(function (d) { return d.day; }),
              datasets: [
                { label: "conversations", data: days.map(function (d) { return d.outcomes.conversations; }), borderColor: BLUE },
                { label: "resolved by the bot", data: days.map(function (d) { return d.outcomes.resolved; }), borderColor: GREEN },
                { label: "handoffs", data: days.map(function (d) { return d.handoffs; }), borderColor: AMBER }
              ] },
      options: { animation: false, responsive: true, maintainAspectRatio: false } });
  var reasons = data.handoff_reasons;
  card("chart-handoffs", "Handoffs by reason", ["reason", "handoffs"],
    reasons.map(function (r) { return [r.name || "(none)", r.count]; }),
    bar(reasons.map(function (r) { return r.name || "(none)"; }),
        [{ label: "handoffs", data: reasons.map(function (r) { return r.count; }), backgroundColor: AMBER }],
        { plugins: { legend: { display: false } } }));
  var dist = data.satisfaction.distribution;
  card("chart-satisfaction", "Satisfaction", ["score", "surveys"],
    dist.map(function (n, i) { return [i + 1, n]; }).filter(function (row, i, all) { return all.some(function (r) { return r[1]; }); }),
    bar(["1", "2", "3", "4", "5"], [{ label: "surveys", data: dist, backgroundColor: [RED, AMBER, GREY, GREEN, GREEN] }],
        { plugins: { legend: { display: false } } }));
  var agents = data.satisfaction.by_agent;
  card("chart-agents", "Satisfaction by agent", ["agent", "surveys", "average"],
    agents.map(function (a) { return [a.agent || "the bot alone", a.surveys, a.average.toFixed(2)]; }),
    bar(agents.map(function (a) { return a.agent || "the bot alone"; }),
        [{ label: "average score", data: agents.map(function (a) { return a.average; }), backgroundColor: GREEN }],
        { scales: { y: { min: 0, max: 5 } }, plugins: { legend: { display: false } } }));
  var thumbs = data.thumbs;
  card("chart-thumbs", "Thumbs by intent", ["intent", "up", "down"],
    thumbs.map(function (t) { return [t.intent || "(none)", t.up, t.down]; }),
    bar(thumbs.map(function (t) { return t.intent || "(none)"; }),
        [{ label: "👍", data: thumbs.map(function (t) { return t.up; }), backgroundColor: GREEN },
         { label: "👎", data: thumbs.map(function (t) { return t.down; }), backgroundColor: RED }],
        { scales: { x: { stacked: true }, y: { stacked: true } } }));
  var top = data.top_intents;
  card("chart-intents", "Top intents", ["intent", "answers"],
    top.map(function (t) { return [t.name, t.count]; }),
    bar(top.map(function (t) { return t.name; }), [{ label: "answers", data: top.map(function (t) { return t.count; }), backgroundColor: BLUE }],
        { indexAxis: "y", plugins: { legend: { display: false } } }));
}

admin.on("insights", function (frame) {
  if (frame.id !== requested) return;  // an answer to an earlier choice
  $("insights-error").hidden = true;
  renderTiles(frame);
  renderCharts(frame);
});
admin.on("error", function (frame) {
  if (frame.ref !== requested) return;
  $("insights-error").textContent = frame.message;
  $("insights-error").hidden = false;
});
admin.on("signed-in", load);
admin.on("reload_done", load);

$("insights-period").addEventListener("change", function () {
  var custom = $("insights-period").value === "custom";
  $("insights-custom").hidden = !custom;
  if (!custom) load();
});
$("insights-apply").addEventListener("click", load);
document.addEventListener("deskmate-admin-tab", function (event) { if (event.detail === "insights") load(); });

// The admin page's tabs: Insights, Inbox, Knowledge base. The chosen tab is kept in the address
// (#inbox), so a reload or a shared link opens it.

var TABS = ["insights", "inbox", "kb"];

function show(name) {
  if (TABS.indexOf(name) < 0) name = "insights";
  TABS.forEach(function (tab) {
    var button = document.getElementById("tab-" + tab);
    var view = document.getElementById("view-" + tab);
    button.setAttribute("aria-selected", String(tab === name));
    button.tabIndex = tab === name ? 0 : -1;
    view.hidden = tab !== name;
  });
  document.dispatchEvent(new CustomEvent("deskmate-admin-tab", { detail: name }));
}

TABS.forEach(function (tab, i) {
  var button = document.getElementById("tab-" + tab);
  button.addEventListener("click", function () { history.replaceState(null, "", "#" + tab); show(tab); });
  button.addEventListener("keydown", function (event) {  // arrow keys move between tabs
    var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    var next = TABS[(i + step + TABS.length) % TABS.length];
    document.getElementById("tab-" + next).focus();
    document.getElementById("tab-" + next).click();
  });
});
show(location.hash.slice(1));

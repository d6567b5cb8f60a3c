// The editors' page: asks for the admin token once per tab (kept in sessionStorage, sent only as an
// Authorization header, never in a URL), fetches /v1/report and shows it; 202 means "being built": ask again.
(function () {
  "use strict";
  const KEY = "kbs-admin-token";
  const $ = (id) => document.getElementById(id);
  let polling = null;
  let asked = 0;

  function status(text, error) {
    $("status").textContent = text;
    $("status").className = error ? "status error" : "status";
  }

  function showLogin(message) {
    $("login").hidden = false;
    $("controls").hidden = true;
    if (message) status(message, true);
    $("token").focus();
  }

  function showControls() {
    $("login").hidden = true;
    $("controls").hidden = false;
  }

  function download(name, text, type) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: type + ";charset=utf-8" }));
    a.download = name;
    a.textContent = name;
    return a;
  }

  async function standalone(fragment) {
    const css = await (await fetch("/admin/report.css")).text();
    return "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>Weekly report</title><style>" +
      css + "</style></head><body>" + fragment + "</body></html>\n";
  }

  function clear() {
    $("report").textContent = "";
    delete $("report").dataset.period;
    $("downloads").textContent = "";
  }

  async function show(data, mine, sent) {
    const page = await standalone(data.html);
    if (mine !== asked) return;  // another period was asked for meanwhile
    // with no dates asked for, the server chose the week before its own today (the shop's day): show them,
    // unless the editor has typed other dates since
    for (const name of ["since", "until"]) if ($(name).value === sent[name]) $(name).value = data.period[name];
    $("report").innerHTML = data.html;  // built by the server, every customer text escaped; the CSP runs no script in it
    const links = $("downloads");
    links.textContent = "";
    links.append(download("report.html", page, "text/html"), download("report.md", data.markdown, "text/markdown"));
    for (const [name, text] of Object.entries(data.csv)) links.append(download(name, text, "text/csv"));
    $("report").dataset.period = data.period.since + "/" + data.period.until;  // what is shown, for whoever waits on it
    status(data.empty ? "这段时间没有记录 (nothing recorded in this period)" : "生成于 " + data.generated_at);
  }

  async function load() {
    clearTimeout(polling);
    const mine = ++asked;  // an answer to an earlier request (other dates) must not overwrite this one
    const token = sessionStorage.getItem(KEY);
    if (!token) return showLogin();
    const query = new URLSearchParams();
    const sent = { since: $("since").value, until: $("until").value };
    for (const name of ["since", "until"]) if (sent[name]) query.set(name, sent[name]);
    clear();  // never leave another period's report on show while this one is built
    status("生成中… (building)");
    let response;
    try {
      response = await fetch("/v1/report?" + query, { headers: { Authorization: "Bearer " + token }, cache: "no-store" });
    } catch (e) {
      return status("服务器无法连接 (cannot reach the server)", true);
    }
    const data = await response.json().catch(() => ({}));
    if (mine !== asked) return;
    if (response.status === 202) {
      const wait = Number(response.headers.get("Retry-After") || 1);
      polling = setTimeout(load, wait * 1000);
      return;
    }
    if (response.status === 401) {
      sessionStorage.removeItem(KEY);
      return showLogin("令牌不对 (wrong token)");
    }
    if (!response.ok) return status((data.error && data.error.message) || "HTTP " + response.status, true);
    await show(data, mine, sent);
  }

  function saveToken() {
    const token = $("token").value.trim();
    if (!token) return;
    sessionStorage.setItem(KEY, token);
    $("token").value = "";
    showControls();
    load();
  }

  $("save-token").addEventListener("click", saveToken);
  $("token").addEventListener("keydown", (e) => { if (e.key === "Enter") saveToken(); });
  $("load").addEventListener("click", load);
  $("forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    clear();
    status("");
    showLogin();
  });
  if (sessionStorage.getItem(KEY)) { showControls(); load(); } else { showLogin(); }
})();

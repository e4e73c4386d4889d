/* The dashboard: overview, projects, one project's timeline, department ranking. Vanilla JS, no build step.
   The token comes from ?token= (then kept in localStorage) or the login form; every figure comes from /api/v1. */
"use strict";
(() => {
  const L = window.I18N;
  const app = document.getElementById("app");
  const params = new URLSearchParams(location.search);
  if (params.get("token")) {
    localStorage.setItem("ledger.token", params.get("token"));
    history.replaceState(null, "", location.pathname + location.hash);
  }
  let lang = params.get("lang") || localStorage.getItem("ledger.lang") || "zh";
  const schema = params.get("schema");

  const t = (key) => (L[lang] && L[lang][key]) || key;
  const pick = (table, code) => (L[table][code] ? L[table][code][lang === "zh" ? 0 : 1] : code);
  const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
  const num = (v, digits = 0) => (v == null ? "—" : Number(v).toLocaleString(lang === "zh" ? "zh-CN" : "en-US",
    {minimumFractionDigits: digits, maximumFractionDigits: digits}));
  const pct = (v) => (v == null ? "—" : (v * 100).toFixed(1) + "%");
  const badge = (cls, text) => `<span class="badge ${esc(cls)}">${esc(text)}</span>`;

  class Unauthorized extends Error {}
  async function api(path, query = {}) {
    const q = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "" && v != null));
    if (schema) q.set("schema", schema);
    const r = await fetch(`/api/v1${path}${q.toString() ? "?" + q : ""}`,
      {headers: {Authorization: `Bearer ${localStorage.getItem("ledger.token") || ""}`}});
    if (r.status === 401) throw new Unauthorized();
    const body = await r.json();
    if (!r.ok) throw new Error(`${body.code}: ${body.message}`);
    return body;
  }

  function translateStatic() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.getElementById("lang").textContent = lang === "zh" ? "EN" : "中文";
    document.title = t("title");
    document.getElementById("build").textContent = schema ? `${t("as_of")}: ${schema}` : t("live");
  }

  const kpi = (key, value, alert = false) =>
    `<div class="card kpi${alert ? " alert" : ""}" data-fig="${key}"><div class="value">${num(value)}</div>` +
    `<div class="label">${esc(t(key))}</div></div>`;

  function rankingTable(rows) {
    if (!rows.length) return `<p class="muted">${t("none")}</p>`;
    return `<table data-table="ranking"><tr><th>${t("rank")}</th><th>${t("department")}</th>
      <th class="num">${t("completed")}</th><th class="num">${t("on_time")}</th><th class="num">${t("early")}</th>
      <th class="num">${t("late")}</th><th class="num">${t("on_time_rate")}</th><th class="num">${t("early_rate")}</th>
      <th class="num">${t("open_overdue")}</th><th>${t("list")}</th></tr>` + rows.map((d) =>
      `<tr data-dept="${esc(d.department)}"><td>${d.rank}</td><td>${esc(d.department)}</td>
       <td class="num" data-col="completed">${d.completed}</td><td class="num">${d.on_time}</td>
       <td class="num">${d.early}</td><td class="num" data-col="late">${d.late}</td>
       <td class="num" data-col="on_time_rate">${pct(d.on_time_rate)}</td><td class="num">${pct(d.early_rate)}</td>
       <td class="num" data-col="open_overdue">${d.open_overdue}</td>
       <td data-col="list">${d.list ? badge(d.list, t(d.list)) : ""}</td></tr>`).join("") + "</table>";
  }

  async function overview() {
    const year = new Date().getFullYear();
    const [o, permits, overdue] = await Promise.all([api("/overview"), api("/permits", {year}),
      api("/deadlines", {overdue: "true", limit: 10})]);
    const max = Math.max(1, ...o.by_category.map((c) => c.count));
    app.innerHTML = `<h1>${t("nav_overview")}</h1>
      <div class="kpis">${kpi("projects", o.projects)}${kpi("overdue_projects", o.overdue_projects, true)}
        ${kpi("overdue_stages", o.overdue_stages, true)}${kpi("overdue_blockers", o.overdue_blockers, true)}
        ${kpi("key_total", o.key_projects.total)}${kpi("key_done", o.key_projects.done)}
        ${kpi("key_in_progress", o.key_projects.in_progress)}${kpi("key_follow_up", o.key_projects.follow_up)}</div>
      <div class="grid">
        <section class="card"><h2>${t("by_category")}</h2>${o.by_category.map((c) =>
          `<div class="bar" data-cat="${c.key}"><span class="name">${esc(pick("categories", c.key))}</span>
           <span class="track"><span class="fill" style="display:block;width:${(100 * c.count / max).toFixed(1)}%">
           </span></span><span class="n">${c.count}</span></div>`).join("")}</section>
        <section class="card"><h2>${t("blockers")}</h2><table data-table="blockers"><tr><th>${t("side")}</th>
          <th>${t("cause")}</th><th class="num">${t("count")}</th></tr>${o.open_blockers.map((b) =>
          `<tr data-blocker="${b.side}/${b.cause}"><td>${t(b.side === "government" ? "government" : "enterprise_side")}</td>
           <td>${esc(pick("causes", b.cause))}</td><td class="num">${b.count}</td></tr>`).join("")}</table></section>
        <section class="card"><h2>${t("overdue_items")}</h2><table data-table="overdue"><tr><th>${t("project")}</th>
          <th>${t("deadline_of")}</th><th>${t("due_on")}</th><th class="num">${t("days_overdue")}</th></tr>${
          overdue.items.map((d) => `<tr><td><a href="#/project/${encodeURIComponent(d.project_id)}">${esc(d.project_name)}</a></td>
           <td>${esc(d.kind === "blocker" ? t("blocker") + " · " + d.department : pick("stages", d.ref))}</td><td>${d.due_on}</td>
           <td class="num">${d.days_overdue}</td></tr>`).join("")}</table></section>
        <section class="card wide"><h2>${t("permits")}</h2><table data-table="permits"><tr><th>${t("kind")}</th>
          <th class="num">${t("issued")}</th><th class="num">${t("land_area")}</th><th class="num">${t("floor_area")}</th></tr>${
          permits.by_kind.map((k) => `<tr data-kind="${k.kind}"><td>${esc(pick("kinds", k.kind))}</td>
           <td class="num" data-col="issued">${k.issued}</td><td class="num">${num(k.land_area_m2, 2)}</td>
           <td class="num">${num(k.floor_area_m2, 2)}</td></tr>`).join("")}</table></section>
      </div>
      <section class="card" style="margin-top:16px"><h2>${t("ranking_month")} (${o.ranking.month.slice(0, 7)})</h2>
        ${rankingTable(o.ranking.departments)}</section>`;
  }

  async function projects() {
    const f = Object.fromEntries(new URLSearchParams(location.hash.split("?")[1] || ""));
    const page = await api("/projects", {...f, limit: 50, total: "true"});
    const rowOf = (p) => `<tr data-project="${esc(p.id)}"><td><a href="#/project/${encodeURIComponent(p.id)}">${esc(p.name)}</a>
         ${p.key_project ? badge("open", t("key_project")) : ""}</td><td>${esc(p.enterprise)}</td>
         <td>${esc(pick("categories", p.category))}</td><td>${p.next_due_on || "—"}</td>
         <td>${p.overdue ? badge("overdue", t("overdue")) : ""}</td></tr>`;
    const cats = Object.keys(L.categories).map((c) =>
      `<option value="${c}"${f.category === c ? " selected" : ""}>${esc(pick("categories", c))}</option>`).join("");
    app.innerHTML = `<h1>${t("nav_projects")} <span class="muted" data-fig="total">${page.total}</span></h1>
      <form class="filters" id="filters"><input name="q" placeholder="${esc(t("search"))}" value="${esc(f.q || "")}">
        <select name="category"><option value="">${t("all")}</option>${cats}</select>
        <label><input type="checkbox" name="overdue" value="true"${f.overdue ? " checked" : ""}> ${t("overdue_only")}</label>
        <label><input type="checkbox" name="key_project" value="true"${f.key_project ? " checked" : ""}> ${t("key_only")}</label>
        <button>${t("show")}</button></form>
      <div class="card"><table data-table="projects"><tr><th>${t("name")}</th><th>${t("enterprise")}</th>
        <th>${t("category")}</th><th>${t("next_due")}</th><th></th></tr>${page.items.map(rowOf).join("")}</table>
        <button id="more" type="button"${page.next_cursor ? "" : " hidden"}>${t("more")}</button></div>`;
    let cursor = page.next_cursor;
    document.getElementById("more").addEventListener("click", async (e) => {
      const next = await api("/projects", {...f, limit: 50, cursor});
      document.querySelector('[data-table="projects"] tbody').insertAdjacentHTML("beforeend", next.items.map(rowOf).join(""));
      cursor = next.next_cursor;
      e.target.hidden = !cursor;
    });
    document.getElementById("filters").addEventListener("submit", (e) => {
      e.preventDefault();
      const q = new URLSearchParams([...new FormData(e.target)].filter(([, v]) => v));
      location.hash = "#/projects?" + q;
    });
  }

  async function project(id) {
    let d;
    try { d = await api(`/projects/${encodeURIComponent(id)}`); } catch (e) {
      if (e instanceof Unauthorized) throw e;
      app.innerHTML = `<p class="error">${t("not_found")}: ${esc(id)}</p>`; return;
    }
    const p = d.project;
    const events = d.history.map((h) => ({at: h.occurred_at, cls: "", html:
      `<b>${esc(pick("events", h.type))}</b> ${esc(h.payload.stage ? pick("stages", h.payload.stage) : "")}
       ${esc(h.payload.blocker_id || "")} <span class="muted">${esc(h.actor)}</span>`}));
    const deadlines = d.deadlines.map((x) => ({at: x.due_on + "T23:59:59+08:00", cls: "deadline" + (x.overdue ? " late" : ""),
      html: `<b>${t("deadline_of")}</b> ${esc(x.kind === "blocker" ? x.ref : pick("stages", x.ref))} · ${esc(x.department)}
       ${x.overdue ? badge("overdue", `${t("overdue")} ${x.days_overdue}`) : ""}`}));
    const items = [...events, ...deadlines].sort((a, b) => new Date(a.at) - new Date(b.at));
    app.innerHTML = `<h1 data-fig="project-name">${esc(p.name)} <span class="muted">${esc(p.id)}</span></h1>
      <div class="grid"><section class="card"><table>
        <tr><th>${t("enterprise")}</th><td>${esc(p.enterprise)}</td></tr><tr><th>${t("district")}</th><td>${esc(p.district)} · ${esc(p.station)}</td></tr>
        <tr><th>${t("category")}</th><td data-fig="category">${esc(pick("categories", p.category))}</td></tr>
        <tr><th>${t("received_on")}</th><td>${p.received_on || "—"}</td></tr>
        <tr><th>${t("land")}</th><td>${num(p.land_area_m2, 2)} ㎡</td></tr><tr><th>${t("floor")}</th><td>${num(p.floor_area_m2, 2)} ㎡</td></tr>
        ${p.key_project ? `<tr><th>${t("key_project")}</th><td>${esc(p.key_leader)} · ${esc(p.key_section)}<br><span class="muted">${esc(p.key_work_plan)}</span></td></tr>` : ""}
      </table></section>
      <section class="card"><h2>${t("stages")}</h2><table data-table="stages"><tr><th>${t("stage")}</th><th>${t("status")}</th>
        <th>${t("opened_on")}</th><th>${t("due_on")}</th><th>${t("passed_on")}</th></tr>${d.stages.map((s) =>
        `<tr data-stage="${s.stage}"><td>${esc(pick("stages", s.stage))}<br><span class="muted">${esc(s.department)}</span></td>
         <td>${badge(s.overdue ? "overdue" : s.status, s.overdue ? t("overdue") : t("st_" + s.status))}
         ${s.suspended ? `<br><span class="muted">${t("suspended")}</span>` : ""}</td><td>${s.opened_on || ""}</td>
         <td>${s.due_on || ""}</td><td>${s.passed_on || ""}</td></tr>`).join("")}</table></section>
      <section class="card"><h2>${t("blockers")}</h2><table data-table="project-blockers">${d.blockers.map((b) =>
        `<tr data-blocker="${esc(b.blocker_id)}"><td>${badge(b.overdue ? "overdue" : b.status, b.overdue ? t("overdue") : t("st_" + b.status))}</td>
         <td><b>${esc(pick("causes", b.cause))}</b> · ${esc(b.department)}<br>${esc(b.description)}
         <br><span class="muted">${t("due_on")}: ${b.due_on || "—"} ${b.resolution ? "· " + esc(b.resolution) : ""}</span></td></tr>`).join("")
        || `<tr><td class="muted">${t("none")}</td></tr>`}</table></section></div>
      <section class="card" style="margin-top:16px"><h2>${t("timeline")}</h2><ul class="timeline" data-fig="timeline">${items.map((i) =>
        `<li class="${i.cls}"><div class="when">${esc(new Date(i.at).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB",
          {timeZone: "Asia/Shanghai", dateStyle: "medium", timeStyle: i.cls ? undefined : "short"}))}</div>${i.html}</li>`).join("")}</ul></section>`;
  }

  async function ranking() {
    const month = (location.hash.split("?month=")[1] || "").slice(0, 7);
    const r = await api("/departments/ranking", {month});
    app.innerHTML = `<h1>${t("nav_ranking")}</h1><form class="filters" id="month-form"><label>${t("month")}
      <input type="month" name="month" value="${r.month.slice(0, 7)}"></label><button>${t("show")}</button></form>
      <section class="card" data-month="${r.month.slice(0, 7)}">${rankingTable(r.departments)}</section>`;
    document.getElementById("month-form").addEventListener("submit", (e) => {
      e.preventDefault(); location.hash = "#/ranking?month=" + new FormData(e.target).get("month");
    });
  }

  function login(message) {
    app.innerHTML = document.getElementById("login").innerHTML;
    translateStatic();
    document.getElementById("login-error").textContent = message || "";
    document.getElementById("login-form").addEventListener("submit", (e) => {
      e.preventDefault();
      localStorage.setItem("ledger.token", document.getElementById("token").value.trim());
      route();
    });
  }

  async function route() {
    translateStatic();
    const hash = location.hash || "#/";
    document.querySelectorAll("header nav a").forEach((a) =>
      a.classList.toggle("active", hash.split("?")[0].startsWith(a.getAttribute("href")) && (a.getAttribute("href") !== "#/" || hash === "#/")));
    if (!localStorage.getItem("ledger.token")) return login();
    app.dataset.ready = "false";
    try {
      if (hash.startsWith("#/project/")) await project(decodeURIComponent(hash.slice(10)));
      else if (hash.startsWith("#/projects")) await projects();
      else if (hash.startsWith("#/ranking")) await ranking();
      else await overview();
    } catch (e) {
      if (e instanceof Unauthorized) { localStorage.removeItem("ledger.token"); return login(t("bad_token")); }
      app.innerHTML = `<p class="error">${esc(e.message)}</p>`;
    }
    app.dataset.ready = "true";
  }

  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("ledger.lang", lang); route();
  });
  document.getElementById("logout").addEventListener("click", () => { localStorage.removeItem("ledger.token"); route(); });
  window.addEventListener("hashchange", route);
  route();
})();

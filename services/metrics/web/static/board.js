// The IOC board: reads the metrics service's JSON and redraws its panels every `refreshSeconds`.
// Every asset comes from this service (plotly.js from the plotly package); nothing is fetched from elsewhere.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("board-config").textContent);
  const L = config.labels;
  const M = L.messages;
  const locale = config.lang === "vi" ? "vi-VN" : "en-GB";
  const percent = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const integer = new Intl.NumberFormat(locale);
  const twoDecimals = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const clock = new Intl.DateTimeFormat(locale, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", day: "2-digit", month: "2-digit",
    timeZone: "Asia/Ho_Chi_Minh",
  });
  const params = new URLSearchParams(window.location.search);
  const state = {
    unit: params.get("unit") || config.defaultUnit,
    window: params.get("window") || "30d",
    kpi: config.kpis.includes(params.get("kpi")) ? params.get("kpi") : config.kpis[0],
    level: params.get("level") || "commune",
  };

  const $ = (id) => document.getElementById(id);
  const pct = (ratio) => (ratio === null || ratio === undefined ? "—" : `${percent.format(ratio * 100)}%`);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  };

  async function getJson(url) {
    const response = await fetch(url, { cache: "no-store", headers: { Accept: "application/json" } });
    if (!response.ok) {
      const error = new Error(`${url}: ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return response.json();
  }

  // Redraw a container without losing the keyboard focus: the element with the same data-key gets it back.
  function replaceKeepingFocus(container, nodes) {
    const focused = document.activeElement;
    const key = focused && container.contains(focused) ? focused.dataset.key : null;
    container.replaceChildren(...nodes);
    if (key) {
      const again = container.querySelector(`[data-key="${CSS.escape(key)}"]`);
      if (again) again.focus();
    }
  }

  function unitButton(code, name, extraClass = "") {
    return el("button", {
      type: "button", class: `unit-link ${extraClass}`.trim(), "data-key": `unit:${code}`, "data-unit": code,
      text: name || code, title: code, onclick: () => drillTo(code),
    });
  }

  function syncUrl(push) {
    const query = new URLSearchParams({ lang: config.lang, unit: state.unit || "", window: state.window,
      kpi: state.kpi, level: state.level });
    const url = `${window.location.pathname}?${query}`;
    if (push) window.history.pushState({ ...state }, "", url);
    else window.history.replaceState({ ...state }, "", url);
    const other = new URLSearchParams(query);
    other.set("lang", config.lang === "vi" ? "en" : "vi");
    $("language").setAttribute("href", `?${other}`);
  }

  function drillTo(code) {
    if (!code || code === state.unit) return;
    state.unit = code;
    syncUrl(true);
    refresh().then(() => $("tiles").focus());
  }

  // --- panels -------------------------------------------------------------------------------------------------

  async function drawPlace() {
    const place = await getJson(`/board/api/units/${encodeURIComponent(state.unit)}`).catch(() => null);
    const chain = place ? place.chain : [{ code: state.unit, name: state.unit, level: "unknown" }];
    replaceKeepingFocus($("chain"), chain.map((u, i) => el("li", {},
      i === chain.length - 1 ? el("span", { "aria-current": "page", text: u.name }) : unitButton(u.code, u.name))));
    const children = place && place.unit.level !== "province" ? place.children : [];
    $("children-panel").hidden = children.length === 0;
    replaceKeepingFocus($("children"), children.map((u) => el("li", {}, unitButton(u.code, u.name))));
  }

  async function drawTiles() {
    const [tiles, trend] = await Promise.all([
      getJson(`/board/api/tiles?unit=${encodeURIComponent(state.unit)}&window=${state.window}`),
      getJson(`/v1/kpis/trend?unit=${encodeURIComponent(state.unit)}&days=30`).catch(() => ({ items: [] })),
    ]);
    $("unit-name").textContent = tiles.unit_name || tiles.unit_code;
    $("unit-level").textContent = `(${L.levels[tiles.level] || tiles.level}, ${L.windows[tiles.window]})`;
    const trends = Object.fromEntries(trend.items.map((t) => [t.kpi, t]));
    const nodes = tiles.tiles.map((t) => {
      const status = M[`status_${t.status}`];
      const target = t.target === null ? "—" : `${t.direction === "below" ? "≤" : "≥"} ${pct(t.target)}`;
      const series = trends[t.kpi];
      const chart = el("div", { class: "trend", role: "img", "aria-label": trendSummary(series) });
      const tile = el("div", {
        class: `tile status-${t.status}${t.kpi === state.kpi ? " selected" : ""}`, "data-kpi": t.kpi,
        "data-ratio": t.value === null ? "" : String(t.value), "data-numerator": t.numerator,
        "data-denominator": t.denominator, "data-status": t.status,
      },
      el("button", {
        type: "button", class: "label", "data-key": `tile:${t.kpi}`, "aria-pressed": String(t.kpi === state.kpi),
        text: L.kpis[t.kpi],
        onclick: () => { state.kpi = t.kpi; $("ranking-kpi").value = t.kpi; syncUrl(false); refresh(); },
      }),
      el("div", { class: "value", text: pct(t.value) }),
      el("div", { class: "detail" },
        el("span", { class: "fraction", text: `${integer.format(t.numerator)} / ${integer.format(t.denominator)}` }),
        ` · ${M.target} ${target}`),
      el("div", { class: "status", text: status }),
      chart);
      return [tile, chart, series, t];
    });
    replaceKeepingFocus($("tiles"), nodes.map(([tile]) => tile));
    for (const [, chart, series, t] of nodes) drawTrend(chart, series, t);
  }

  function trendSummary(series) {
    if (!series || !series.available) return M.trend_unavailable;
    const known = series.days.filter((d) => d.ratio !== null);
    if (known.length === 0) return `${M.trend}: ${M.no_data}`;
    return `${M.trend}: ${pct(known[0].ratio)} → ${pct(known[known.length - 1].ratio)}`;
  }

  function drawTrend(chart, series, tile) {
    if (!series || !series.available || typeof window.Plotly === "undefined") {
      chart.textContent = series && !series.available ? M.trend_unavailable : "";
      return;
    }
    const x = series.days.map((d) => d.day);
    const y = series.days.map((d) => (d.ratio === null ? null : d.ratio * 100));
    const colour = tile.status === "below" ? "#ff6b6b" : tile.status === "met" ? "#4be08a" : "#c5ced8";
    const shapes = tile.target === null ? [] : [{
      type: "line", xref: "paper", x0: 0, x1: 1, y0: tile.target * 100, y1: tile.target * 100,
      line: { color: "#ffd24a", width: 1.5, dash: "dot" },
    }];
    window.Plotly.react(chart, [{ x, y, type: "scatter", mode: "lines", line: { color: colour, width: 3 },
      connectgaps: false, hoverinfo: "skip" }], {
      margin: { l: 0, r: 0, t: 2, b: 2 }, height: chart.clientHeight || 48, autosize: true,
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", showlegend: false, shapes,
      xaxis: { visible: false, fixedrange: true }, yaxis: { visible: false, fixedrange: true },
    }, { staticPlot: true, displayModeBar: false, responsive: true });
  }

  async function drawRanking() {
    const ranking = await getJson(`/v1/ranking?kpi=${state.kpi}&window=${state.window}&level=${state.level}`);
    const rows = ranking.units.map((u) => el("tr", { "data-unit": u.unit_code },
      el("td", { class: "num", text: u.rank === null ? "—" : String(u.rank) }),
      el("td", {}, unitButton(u.unit_code, u.unit_name)),
      el("td", { class: "num", "data-ratio": u.ratio === null ? "" : String(u.ratio),
        text: `${pct(u.ratio)} (${integer.format(u.numerator)}/${integer.format(u.denominator)})` })));
    if (rows.length === 0) rows.push(el("tr", {}, el("td", { colspan: 3, class: "muted", text: M.no_data })));
    replaceKeepingFocus($("ranking").tBodies[0], rows);
  }

  async function drawAlerts() {
    const alerts = await getJson("/board/api/alerts");
    $("alerts-count").textContent = alerts.available && alerts.count ? String(alerts.count) : "";
    $("alerts-status").textContent = !alerts.available ? M.unavailable : alerts.count === 0 ? M.alerts_none : "";
    $("alerts-panel").dataset.available = String(alerts.available);
    replaceKeepingFocus($("alerts"), alerts.items.map((a) => el("li", { class: `${a.status} ${a.severity}` },
      el("strong", { text: `${a.status === "firing" ? M.firing : M.pending} · ${M[`severity_${a.severity}`] || a.severity}` }),
      " ", a.unit ? unitButton(a.unit, a.unit_name || a.subject) : el("span", { text: a.subject }),
      el("div", { text: a.summary || a.rule }),
      a.since ? el("div", { class: "muted", text: `${M.since} ${clock.format(new Date(a.since))}` }) : null)));
  }

  async function drawBacklog() {
    const [mine, communes] = await Promise.all([
      getJson(`/v1/backlog?unit=${encodeURIComponent(state.unit)}`),
      getJson("/v1/backlog?level=commune"),
    ]);
    const figures = mine.items[0];
    const cell = (label, value, cls) => el("div", { class: cls },
      el("dt", { text: label }), el("dd", { text: value === undefined ? "—" : integer.format(value) }));
    replaceKeepingFocus($("backlog"), figures ? [
      cell(M.in_progress, figures.in_progress), cell(M.overdue, figures.overdue, figures.overdue ? "bad" : "good"),
      cell(M.paused, figures.paused),
    ] : [el("p", { class: "muted", text: M.no_data })]);
    const worst = communes.items.filter((u) => u.overdue > 0).sort((a, b) => b.overdue - a.overdue).slice(0, 5);
    replaceKeepingFocus($("backlog-worst"), worst.length ? worst.map((u) => el("li", {},
      unitButton(u.unit_code, u.unit_name), ` ${integer.format(u.overdue)}`)) : [el("li", { class: "muted", text: M.none })]);
  }

  async function drawIndex766() {
    const panel = $("index766-panel");
    const answer = await getJson(`/board/api/index766?unit=${encodeURIComponent(state.unit)}`);
    panel.hidden = !answer.endpoint;
    if (!answer.available) {
      $("index766-total").textContent = M.not_available;
      $("index766").tBodies[0].replaceChildren();
      return;
    }
    const index = answer.scorecard;
    const points = (v) => (v === null || v === undefined ? "—" : twoDecimals.format(v));
    $("index766-total").textContent = `${points(index.total)} / ${points(index.max_total)} ${M.points}`;
    $("index766").tBodies[0].replaceChildren(
      ...index.groups.map((g) => el("tr", {}, el("th", { scope: "row", text: M[`group_${g.group}`] || g.group }),
        el("td", { class: "num", text: `${points(g.points)} / ${points(g.max_points)}` }))),
      el("tr", {}, el("th", { scope: "row", text: M.coverage }),
        el("td", { class: "num", text: typeof index.coverage === "number" ? pct(index.coverage) : "—" })));
  }

  async function drawPipeline() {
    const health = await getJson("/board/api/pipeline");
    const cell = (label, value, bad) => el("div", { class: bad ? "bad" : "good" },
      el("dt", { text: label }), el("dd", { text: value === null ? "—" : integer.format(value) }));
    replaceKeepingFocus($("pipeline"), [
      cell(M.consumer_lag, health.consumer_lag, (health.consumer_lag || 0) > 1000),
      cell(M.dead_letters, health.dead_letters, health.dead_letters > 0),
      cell(M.unknown_units, health.unknown_units, health.unknown_units > 0),
    ]);
    replaceKeepingFocus($("sources"), health.sources.length ? health.sources.map((s) => el("li", {},
      el("span", { class: s.silent ? "silent" : "", text: `${s.source}: ${s.silent ? M.silent : M.active}` }),
      el("span", { class: "muted", text: ` · ${M.last_event} ${clock.format(new Date(s.last_event_at))}` })))
      : [el("li", { class: "muted", text: M.none })]);
  }

  // --- refresh ------------------------------------------------------------------------------------------------

  let running = null;
  async function refresh() {
    if (running) return running;
    running = (async () => {
      if (!state.unit) { $("unit-name").textContent = M.no_data; return; }
      const results = await Promise.allSettled([drawPlace(), drawTiles(), drawRanking(), drawAlerts(),
        drawBacklog(), drawIndex766(), drawPipeline()]);
      for (const result of results) {
        if (result.status === "rejected") console.warn("board panel not refreshed:", result.reason);
      }
      $("updated").textContent = clock.format(new Date());
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    })().finally(() => { running = null; });
    return running;
  }

  $("window").value = state.window;
  $("ranking-kpi").value = state.kpi;
  $("ranking-level").value = state.level;
  $("window").addEventListener("change", (e) => { state.window = e.target.value; syncUrl(false); refresh(); });
  $("ranking-kpi").addEventListener("change", (e) => { state.kpi = e.target.value; syncUrl(false); refresh(); });
  $("ranking-level").addEventListener("change", (e) => { state.level = e.target.value; syncUrl(false); refresh(); });
  window.addEventListener("popstate", (e) => { if (e.state) { Object.assign(state, e.state); refresh(); } });
  syncUrl(false);
  refresh();
  window.setInterval(refresh, config.refreshSeconds * 1000);
})();

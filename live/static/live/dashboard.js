/* The live dashboard: one WebSocket for the scans, a poll of /api/v1/books/health/ for the
 * book health panel. Plain browser JavaScript, no build step. Everything from the server is
 * put into the page with textContent, never as HTML. */
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const $ = (id) => document.getElementById(id);
  const HEALTH_POLL_MS = 5000;
  const MAX_BACKOFF_MS = 30000;
  const BINS = [0.2, 0.4, 0.6, 0.8, 1, 1.5, 2, 3, 5]; // upper bounds of the histogram bins (%)

  const state = {
    items: [],
    lastScanTs: null, // server clock, ms
    clockOffsetMs: config.serverNowMs - Date.now(), // server minus browser
    scanIntervalSec: config.scanIntervalSec,
    sort: { key: "net_edge_pct", dir: -1 },
    open: new Set(), // keys of expanded rows
    routesOpen: new Set(), // symbols whose other routes are shown
    shown: 200, // lines drawn (PAGE at a time)
    previousKeys: null, // the keys of the last scan (null before the first one)
    freshSince: new Map(), // key -> browser ms it appeared in a scan after the first
    alerted: new Set(), // keys already announced (sound or desktop notification)
    history: new Map(), // key -> { points, fetchedAt } from the audit, for expanded rows
    exchanges: new Set(),
    socket: null,
    connected: false,
    connectedAt: null,
    attempts: 0,
    reconnectAt: null,
    leaving: false,
    degraded: "", // why the last scan could not be trusted, from book health
    healthOkAt: 0, // browser clock of the last book health answer
  };

  // --- helpers ------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }
  const num = (value, digits) => (typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "–");
  const sig = (value) => (typeof value === "number" && isFinite(value) ? String(Number(value.toPrecision(8))) : "–");
  const serverNow = () => Date.now() + state.clockOffsetMs;
  function ago(ms) {
    if (ms < 1500) return "just now";
    const s = Math.round(ms / 1000);
    return s < 120 ? `${s} s ago` : `${Math.round(s / 60)} min ago`;
  }
  function duration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  }
  const staleAfterMs = () => Math.max(3 * state.scanIntervalSec * 1000, 3000);
  function itemKey(item) {
    if (typeof item.key === "string") return item.key; // the episode's identity, from the server
    if (item.type === "triangular") return `triangular|${item.exchange}|${item.cause || (item.path || []).join(">")}`;
    return `spatial|${item.symbol}|${item.buy_exchange}|${item.sell_exchange}`;
  }
  // Spatial routes of one symbol share a line; a triangular opportunity is already one per cause.
  const groupKey = (item) => (item.type === "spatial" ? `spatial|${item.symbol}` : itemKey(item));
  const actionable = (item) => (config.actionable || ["ok"]).includes(item.risk_flag);
  function route(item) {
    if (item.type === "triangular") return `${item.exchange} (cycle)`;
    return `${item.buy_exchange} → ${item.sell_exchange}`;
  }
  // A long identifier (a risk flag, a cycle's path) may break after "_" or "→" on a narrow
  // screen, and only there: <wbr> adds no character to the text.
  function breakable(text, after) {
    const nodes = [];
    String(text).split(after).forEach((part, i, parts) => {
      nodes.push(i < parts.length - 1 ? part + after : part);
      if (i < parts.length - 1) nodes.push(el("wbr"));
    });
    return nodes;
  }
  // What each flag means and what to check, for the badge's tooltip.
  function riskTitle(item) {
    const flags = item.risk_flags || [];
    if (!flags.length) return "No reason found to doubt it.";
    return flags.map((flag) => `${flag}: ${(config.riskWords || {})[flag] || ""}`).join("\n");
  }
  function market(item) {
    // A cycle's "symbol" is its path; arrows read better than the engine's ">".
    if (item.type === "triangular" && Array.isArray(item.path)) return item.path.join("→");
    return item.symbol;
  }
  function toLogin() {
    if (state.leaving) return;
    state.leaving = true;
    window.location.assign(`/accounts/login/?next=${encodeURIComponent(window.location.pathname)}`);
  }

  // --- the socket ---------------------------------------------------------------------

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${window.location.host}${config.wsPath}`);
    state.socket = socket;
    state.reconnectAt = null;
    setConnection("connecting");
    socket.onopen = () => {
      state.connected = true;
      state.connectedAt = Date.now();
      setConnection("live");
      sendFilters();
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      state.attempts = 0; // a working connection resets the backoff
      handle(message);
    };
    socket.onclose = (event) => {
      state.connected = false;
      state.socket = null;
      if (event.code === 4401) return toLogin();
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** state.attempts);
    const delay = base / 2 + Math.random() * (base / 2);
    state.attempts += 1;
    state.reconnectAt = Date.now() + delay;
    setConnection("down");
    window.setTimeout(connect, delay);
    refreshStatus();
  }

  function handle(message) {
    if (message.type === "opportunities") {
      applyScan(Array.isArray(message.items) ? message.items : [], message.ts);
    } else if (message.type === "opportunities_diff") {
      // Only what changed since the scan we hold; if we do not hold that one, ask again for a whole scan.
      if (message.since !== state.lastScanTs) return sendFilters();
      const byKey = new Map(state.items.map((item) => [itemKey(item), item]));
      for (const key of message.removed || []) byKey.delete(key);
      for (const item of [...(message.added || []), ...(message.changed || [])]) byKey.set(itemKey(item), item);
      applyScan(Array.from(byKey.values()), message.ts);
    } else if (message.type === "subscribed") {
      $("filter-error").textContent = "";
    } else if (message.type === "error") {
      if (["auth_required", "auth_failed", "auth_timeout"].includes(message.code)) toLogin();
      else if (message.code === "invalid_filters") $("filter-error").textContent = message.message;
    }
  }

  function applyScan(items, ts) {
    const previous = state.lastScanTs;
    state.items = items;
    state.lastScanTs = ts;
    noteNewRows(previous);
    for (const item of state.items) {
      for (const name of [item.buy_exchange, item.sell_exchange, item.exchange]) if (name) state.exchanges.add(name);
    }
    renderExchangeOptions();
    renderTable();
    renderChart();
    refreshStatus();
  }

  // --- filters ------------------------------------------------------------------------

  function currentFilters() {
    const filters = {};
    const symbol = $("f-symbol").value.trim();
    if (symbol) filters.symbol = symbol;
    if ($("f-exchange").value) filters.exchange = $("f-exchange").value;
    if ($("f-type").value) filters.type = $("f-type").value;
    const minEdge = $("f-min-edge").value.trim();
    if (minEdge !== "") filters.min_net_edge = Number(minEdge);
    if ($("f-actionable").checked) filters.risk = "actionable";
    return filters;
  }

  // Filters and alert settings survive a reload (this browser only).
  const SAVED = "arbscan.dashboard.v1";
  const FIELDS = ["f-symbol", "f-exchange", "f-type", "f-min-edge", "f-actionable", "f-alert", "f-alert-edge"];
  function saveFilters() {
    const saved = {};
    for (const id of FIELDS) saved[id] = $(id).type === "checkbox" ? $(id).checked : $(id).value;
    try {
      window.localStorage.setItem(SAVED, JSON.stringify(saved));
    } catch (err) {
      /* private mode or full storage: filters just do not persist */
    }
  }
  function restoreFilters() {
    let saved = {};
    try {
      saved = JSON.parse(window.localStorage.getItem(SAVED) || "{}") || {};
    } catch (err) {
      saved = {};
    }
    for (const id of FIELDS) {
      if (!(id in saved)) continue;
      if ($(id).type === "checkbox") $(id).checked = saved[id] === true;
      else if (id === "f-exchange" && saved[id]) {
        if (!Array.from($(id).options).some((o) => o.value === saved[id])) $(id).append(el("option", { value: saved[id] }, saved[id]));
        $(id).value = saved[id];
      } else $(id).value = typeof saved[id] === "string" ? saved[id] : "";
    }
  }

  function sendFilters() {
    saveFilters();
    if (state.socket && state.connected) {
      // diffs: after one whole scan, each next one as what was added, changed or removed.
      state.socket.send(JSON.stringify({ type: "subscribe", filters: currentFilters(), diffs: true }));
    }
  }

  let filterTimer = null;
  function onFilterInput() {
    window.clearTimeout(filterTimer);
    filterTimer = window.setTimeout(sendFilters, 250);
  }

  function renderExchangeOptions() {
    const select = $("f-exchange");
    const known = new Set(Array.from(select.options).map((option) => option.value));
    for (const name of Array.from(state.exchanges).sort()) {
      if (!known.has(name)) select.append(el("option", { value: name }, name));
    }
  }

  // --- the table ----------------------------------------------------------------------

  function sortValue(item) {
    const key = state.sort.key;
    if (key === "route") return route(item);
    if (key === "symbol") return market(item);
    if (key === "open_since") return -(item.open_since ?? 0); // longest open first when descending
    return item[key];
  }
  function compare(a, b) {
    const x = sortValue(a);
    const y = sortValue(b);
    if (typeof x === "number" && typeof y === "number") return (x - y) * state.sort.dir;
    return String(x ?? "").localeCompare(String(y ?? "")) * state.sort.dir;
  }

  // Groups in display order: each group's routes best first, groups by the sort of their best.
  function groups() {
    const byKey = new Map();
    const byEdge = state.items.slice().sort((a, b) => (b.net_edge_pct ?? 0) - (a.net_edge_pct ?? 0));
    for (const item of byEdge) {
      const key = groupKey(item);
      if (!byKey.has(key)) byKey.set(key, []);
      byKey.get(key).push(item);
    }
    return Array.from(byKey.entries()).sort(([, a], [, b]) => compare(a[0], b[0]));
  }

  function riskBadges(item) {
    const flags = item.risk_flags && item.risk_flags.length ? item.risk_flags : item.risk_flag && item.risk_flag !== "ok" ? [item.risk_flag] : [];
    if (!flags.length) return [el("span", { class: "risk", title: riskTitle(item) }, "ok")];
    const words = config.riskWords || {};
    return flags.map((flag) =>
      el("span", { class: "risk flagged", "data-flag": flag, title: `${flag}: ${words[flag] || ""}` }, ...breakable(flag.replace(/_/g, " "), " ")),
    );
  }

  // A group's first row stands for the group: expanded, it follows whichever route is best.
  function itemRow(item, extra) {
    const key = extra.sub ? itemKey(item) : groupKey(item);
    const own = itemKey(item);
    const fresh = state.freshSince.has(own) && Date.now() - state.freshSince.get(own) < FRESH_MS;
    const classes = ["opp-row", state.open.has(key) ? "open" : "", fresh ? "fresh" : "", extra.sub ? "sub" : ""];
    const routeCell = el("td", { class: "route" }, extra.sub ? "↳ " : "", route(item));
    if (item.type === "spatial" && item.transfer_network) routeCell.append(" ", el("span", { class: "net", title: "the network the coin moves over (the cheapest open route)" }, `via ${item.transfer_network}`));
    if (extra.others) {
      const shown = state.routesOpen.has(item.symbol);
      routeCell.append(
        " ",
        el(
          "button",
          { type: "button", class: "routes", "data-symbol": item.symbol, "aria-expanded": String(shown), title: "other routes for this symbol" },
          shown ? "hide routes" : `+${extra.others} route${extra.others > 1 ? "s" : ""}`,
        ),
      );
    }
    const since = typeof item.open_since === "number" ? item.open_since : null;
    return el(
      "tr",
      { class: classes.filter(Boolean).join(" "), "data-key": key, "data-symbol": item.symbol, tabindex: "0" },
      el("td", { class: "opt wide" }, item.type),
      el("td", { class: item.type === "triangular" ? "market cycle" : "market" }, ...breakable(market(item), "→")),
      routeCell,
      el("td", { class: "num pos" }, num(item.net_edge_pct, 3)),
      el("td", { class: "num opt wide" }, num(item.gross_edge_pct, 3)),
      el("td", { class: "num" }, num(item.expected_profit_usdt, 2)),
      el("td", { class: "num opt" }, num(item.optimal_profit_usdt, 2)),
      el("td", { class: "num opt open-for", title: since === null ? "" : `open since ${new Date(since).toLocaleTimeString([], { hour12: false })}` }, since === null ? "–" : duration(serverNow() - since)),
      el("td", { class: "num opt" }, num(item.peak_net_edge_pct, 3)),
      el("td", { class: "risk-cell" }, ...riskBadges(item)),
    );
  }

  // A whole-market scan can hold thousands of rows: the table draws the first PAGE lines
  // (the best, in the chosen order), more on request, so each scan stays a cheap redraw.
  const PAGE = 200;
  function renderTable() {
    const body = $("opps").tBodies[0];
    const rows = [];
    const all = groups();
    for (const [, members] of all.slice(0, state.shown)) {
      const [best, ...others] = members;
      rows.push(itemRow(best, { others: others.length }));
      if (state.open.has(groupKey(best))) rows.push(detailRow(best));
      if (!others.length || !state.routesOpen.has(best.symbol)) continue;
      for (const item of others) {
        rows.push(itemRow(item, { sub: true }));
        if (state.open.has(itemKey(item))) rows.push(detailRow(item));
      }
    }
    const hidden = all.length - Math.min(all.length, state.shown);
    if (hidden > 0) {
      rows.push(
        el("tr", { class: "more" }, el("td", { colspan: "10" }, el("button", { type: "button", id: "show-more" }, `Show ${Math.min(PAGE, hidden)} more of ${hidden}`))),
      );
    }
    body.replaceChildren(...rows);
    $("empty").hidden = rows.length > 0;
    const n = state.items.length;
    $("row-count").textContent = `${n} opportunit${n === 1 ? "y" : "ies"} in ${all.length} line${all.length === 1 ? "" : "s"}`;
  }

  // --- new rows: highlight, and an optional alert ---------------------------------------

  const FRESH_MS = 10000;
  // New means opened since the scan we held before (the server's open_since), not merely new
  // to this view: changing a filter brings rows in without announcing them.
  function noteNewRows(previousTs) {
    const keys = new Set(state.items.map(itemKey));
    const now = Date.now();
    for (const [key, at] of state.freshSince) if (!keys.has(key) || now - at > FRESH_MS) state.freshSince.delete(key);
    if (previousTs !== null) {
      for (const item of state.items) {
        const key = itemKey(item);
        const opened = typeof item.open_since === "number" ? item.open_since > previousTs : state.previousKeys !== null && !state.previousKeys.has(key);
        if (opened && !state.freshSince.has(key)) state.freshSince.set(key, now);
      }
    }
    state.previousKeys = keys;
    if (!$("f-alert").checked) return;
    const floor = Number($("f-alert-edge").value || "0.5");
    for (const [key, members] of groups()) {
      const best = members[0];
      const isNew = members.some((item) => state.freshSince.get(itemKey(item)) === now);
      if (!isNew || state.alerted.has(key) || !actionable(best) || !(best.net_edge_pct >= floor)) continue;
      state.alerted.add(key);
      announce(best);
    }
  }

  function announce(item) {
    const text = `${market(item)} ${route(item)}: net ${num(item.net_edge_pct, 3)} %`;
    $("alert-log").textContent = `New: ${text}`;
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        new Notification("Arbitrage alert", { body: text, tag: itemKey(item) });
        return;
      } catch (err) {
        /* some browsers only notify from a service worker: fall back to the sound */
      }
    }
    beep();
  }

  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.value = 0.08;
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.15);
    } catch (err) {
      /* no audio here: the line above the table still says it */
    }
  }

  function onAlertToggle() {
    if ($("f-alert").checked && "Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().catch(() => {});
    }
  }

  function definitions(title, pairs) {
    const list = el("dl");
    for (const [name, value] of pairs) list.append(el("dt", {}, name), el("dd", {}, value));
    return el("div", {}, el("h3", {}, title), list);
  }

  function detailRow(item) {
    const costs = definitions("Costs", [
      ["gross edge", `${num(item.gross_edge_pct, 4)} %`],
      ["taker fees", `${num(item.fees_pct, 4)} %`],
      ["slippage", `${num(item.slippage_pct, 4)} %`],
      ["withdrawal", `${num(item.withdraw_pct, 4)} %`],
      ["net edge", `${num(item.net_edge_pct, 4)} %`],
    ]);
    const size = definitions("Size", [
      ["buy VWAP", sig(item.buy_vwap)],
      ["sell VWAP", sig(item.sell_vwap)],
      ["target qty", sig(item.available_qty)],
      ["target profit", `${num(item.expected_profit_usdt, 2)} USDT`],
      ["optimal qty", sig(item.optimal_qty)],
      ["optimal profit", `${num(item.optimal_profit_usdt, 2)} USDT`],
    ]);
    const extra = [["risk flags", (item.risk_flags || []).join(", ") || "none"]];
    if (item.type === "spatial") extra.push(["transfer network", item.transfer_network || "none known"]);
    if (item.type === "triangular") {
      extra.push(["path", (item.path || []).join(" → ")]);
      if (item.variants > 1) extra.push(["variants", `${item.variants} profitable cycles share this cause`]);
      extra.push(["leg prices", (item.leg_prices || []).map(sig).join(", ")]);
    }
    extra.push(["detected", new Date(item.ts_detected).toLocaleTimeString()]);
    const evidence = el(
      "table",
      { class: "evidence" },
      el("thead", {}, el("tr", {}, ...["book", "lag", "event age", "seq", "checksum"].map((h) => el("th", {}, h)))),
      el(
        "tbody",
        {},
        ...(item.evidence || []).map((book) =>
          el(
            "tr",
            {},
            el("td", {}, `${book.exchange} ${book.symbol}`),
            el("td", { class: "num" }, `${book.lag_ms} ms`),
            el("td", { class: "num" }, ago(serverNow() - book.ts_event)),
            el("td", {}, book.seq_id ?? "–"),
            el("td", {}, book.checksum_ok === null || book.checksum_ok === undefined ? "–" : String(book.checksum_ok)),
          ),
        ),
      ),
    );
    const books = el("div", { class: "detail-books" }, el("h3", {}, "Books (evidence)"), el("div", { class: "evidence-wrap" }, evidence));
    const grid = el("div", { class: "detail-grid" }, costs, size, definitions("Risk", extra), historyBlock(item), books);
    return el("tr", { class: "detail" }, el("td", { colspan: "10" }, grid));
  }

  function toggleRow(row) {
    const key = row.getAttribute("data-key");
    if (state.open.has(key)) state.open.delete(key);
    else state.open.add(key);
    renderTable();
  }

  // --- an opportunity's history: its net edge over its episode, from the audit ----------

  const HISTORY_REFRESH_MS = 15000;
  async function loadHistory(key) {
    const known = state.history.get(key);
    if (known && Date.now() - known.fetchedAt < HISTORY_REFRESH_MS) return;
    state.history.set(key, { points: known ? known.points : null, fetchedAt: Date.now() });
    try {
      const url = `${config.episodesUrl}?key=${encodeURIComponent(key)}&is_open=true&limit=1`;
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const page = await response.json();
      const episode = (page.results || [])[0];
      const points = episode && episode.details && Array.isArray(episode.details.history) ? episode.details.history : [];
      state.history.set(key, { points, fetchedAt: Date.now() });
      if (state.open.has(key)) renderTable();
    } catch (err) {
      /* the server is away: the row says "loading" until it is back */
    }
  }

  function historyBlock(item) {
    const key = itemKey(item);
    loadHistory(key); // at most every HISTORY_REFRESH_MS while the row is open
    const known = state.history.get(key);
    const box = el("div", { class: "history" }, el("h3", {}, "Net edge over this episode"));
    const points = known && Array.isArray(known.points) ? known.points.filter((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === "number" && isFinite(v))) : null;
    if (points === null || points.length < 2) {
      box.append(el("p", { class: "muted" }, points === null ? "loading…" : "just opened: one scan so far"));
      return box;
    }
    const ns = "http://www.w3.org/2000/svg";
    const w = 260;
    const h = 60;
    const t0 = points[0][0];
    const t1 = points[points.length - 1][0];
    const lo = Math.min(...points.map((p) => p[1]));
    const hi = Math.max(...points.map((p) => p[1]));
    const x = (t) => (t1 === t0 ? w : ((t - t0) / (t1 - t0)) * w);
    const y = (v) => (hi === lo ? h / 2 : h - 4 - ((v - lo) / (hi - lo)) * (h - 8));
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    svg.setAttribute("class", "spark");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `net edge from ${num(points[0][1], 3)} % to ${num(points[points.length - 1][1], 3)} %, peak ${num(hi, 3)} %`);
    const line = document.createElementNS(ns, "polyline");
    line.setAttribute("points", points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" "));
    svg.append(line);
    box.append(svg, el("p", { class: "muted" }, `${points.length} points over ${duration(t1 - t0)} · low ${num(lo, 3)} % · peak ${num(hi, 3)} %`));
    return box;
  }

  function setSort(th) {
    const key = th.getAttribute("data-sort");
    state.sort = { key, dir: state.sort.key === key ? -state.sort.dir : key === "symbol" || key === "route" ? 1 : -1 };
    for (const other of th.parentElement.children) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", state.sort.dir > 0 ? "ascending" : "descending");
    renderTable();
  }

  // --- the chart ----------------------------------------------------------------------

  function renderChart() {
    const svg = $("edge-chart");
    const ns = "http://www.w3.org/2000/svg";
    const counts = new Array(BINS.length + 1).fill(0);
    for (const item of state.items) {
      const edge = item.net_edge_pct;
      if (typeof edge !== "number") continue;
      const bin = BINS.findIndex((upper) => edge < upper);
      counts[bin === -1 ? BINS.length : bin] += 1;
    }
    const labels = BINS.map((upper) => `<${upper}`).concat([`≥${BINS[BINS.length - 1]}`]);
    const max = Math.max(1, ...counts);
    const width = 320;
    const plotH = 120;
    const barW = width / counts.length;
    const nodes = [];
    const svgEl = (tag, attrs, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
      if (text !== undefined) node.textContent = text;
      return node;
    };
    counts.forEach((count, i) => {
      const h = (count / max) * (plotH - 14);
      const x = i * barW + 3;
      nodes.push(svgEl("rect", { class: "bar", x, y: plotH - h, width: barW - 6, height: h }));
      if (count) nodes.push(svgEl("text", { x: x + (barW - 6) / 2, y: plotH - h - 3, "text-anchor": "middle" }, count));
      nodes.push(svgEl("text", { x: x + (barW - 6) / 2, y: plotH + 14, "text-anchor": "middle" }, labels[i]));
    });
    nodes.push(svgEl("text", { x: width / 2, y: plotH + 32, "text-anchor": "middle" }, "net edge, %"));
    svg.replaceChildren(...nodes);
  }

  // --- book health --------------------------------------------------------------------

  async function pollHealth() {
    try {
      const response = await fetch(config.healthUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (response.status === 401 || response.status === 403) return toLogin();
      if (!response.ok) {
        $("health-note").textContent = `Book health unavailable (HTTP ${response.status}).`;
        return;
      }
      const report = await response.json();
      state.healthOkAt = Date.now();
      $("health").classList.remove("unknown");
      state.clockOffsetMs = report.ts - Date.now();
      state.scanIntervalSec = report.feed.scan_interval_sec;
      state.degraded = report.feed.degraded ? report.feed.degraded_reason : "";
      renderHealth(report);
      refreshStatus();
    } catch (err) {
      $("health-note").textContent = "Book health unavailable (server unreachable).";
      healthUnknown();
    } finally {
      window.setTimeout(pollHealth, HEALTH_POLL_MS);
    }
  }

  // The figures on screen are from the last answer: say since when they are unknown rather
  // than let "just now" stand while the server is away.
  function healthUnknown() {
    if (!state.healthOkAt) return;
    const since = new Date(state.healthOkAt).toLocaleTimeString([], { hour12: false });
    $("health").classList.add("unknown");
    for (const row of $("health").tBodies[0].rows) {
      row.cells[row.cells.length - 1].textContent = `unknown since ${since}`;
    }
  }

  function renderHealth(report) {
    const corrupt = report.corrupt.length ? ` · ${report.corrupt.length} corrupt` : "";
    $("health-note").textContent = `Books go stale after ${report.stale_after_sec} s${corrupt}.`;
    const rows = report.exchanges.map((ex) => {
      state.exchanges.add(ex.exchange);
      const bad = ex.unhealthy + (ex.future || 0); // a book stamped ahead of our clock is not trusted either
      const none = ex.fresh + ex.stale + bad === 0;
      const lag = ex.max_lag_ms === null ? "–" : ex.max_lag_ms < 1000 ? `${ex.max_lag_ms} ms` : `${(ex.max_lag_ms / 1000).toFixed(1)} s`;
      // Withdrawal networks and fees (sync_fees or an admin): how old the newest row is.
      const nets = ex.networks_updated_at;
      const netsAge = (() => {
        if (typeof nets !== "number") return nets === null ? "never" : "–";
        const s = Math.max(0, Math.floor((report.ts - nets) / 1000));
        if (s < 60) return "just now";
        if (s < 3600) return `${Math.floor(s / 60)} min ago`;
        return s < 48 * 3600 ? `${Math.floor(s / 3600)} h ago` : `${Math.floor(s / 86400)} d ago`;
      })();
      const netsTitle = typeof nets === "number" ? new Date(nets).toLocaleString([], { hour12: false }) : nets === null ? "no withdrawal network data: run sync_fees or add fees in admin" : "";
      return el(
        "tr",
        { "data-exchange": ex.exchange, class: none ? "empty" : "", title: none ? "no books from this exchange" : "" },
        el("td", {}, ex.exchange),
        el("td", { class: "num" }, ex.fresh),
        el("td", { class: `num${ex.stale ? " warn" : ""}` }, ex.stale),
        el("td", { class: `num${bad ? " bad" : ""}` }, bad),
        el("td", { class: "num" }, lag),
        el("td", { class: `num${nets === null ? " warn" : ""}`, title: netsTitle }, netsAge),
        el("td", { class: "num" }, ex.last_update === null ? "–" : ago(report.ts - ex.last_update)),
      );
    });
    $("health").tBodies[0].replaceChildren(...rows);
    renderExchangeOptions();
  }

  // --- status and warnings ------------------------------------------------------------

  function setConnection(kind) {
    const pill = $("conn-status");
    pill.dataset.state = kind;
    pill.className = `pill ${kind === "live" ? "pill-live" : kind === "down" ? "pill-down" : "pill-wait"}`;
    pill.textContent = kind === "live" ? "live" : kind === "down" ? "disconnected" : "connecting…";
  }

  function refreshStatus() {
    const banner = $("feed-warning");
    let warning = "";
    let down = false;
    if (state.lastScanTs !== null) {
      const age = serverNow() - state.lastScanTs;
      $("last-scan").textContent = `${new Date(state.lastScanTs).toLocaleTimeString()} (${ago(age)})`;
      if (age > staleAfterMs()) {
        warning = `Feed is stale: the last scan was ${ago(age)}; scans are expected every ${state.scanIntervalSec} s.`;
      }
    } else if (state.connected && Date.now() - state.connectedAt > staleAfterMs()) {
      warning = "Feed is stale: no scan has arrived yet.";
    }
    if (!warning && state.degraded) {
      warning = `Market data degraded (${state.degraded}): opportunities may be missing.`;
    }
    if (!state.connected && state.reconnectAt !== null) {
      const wait = Math.max(0, Math.ceil((state.reconnectAt - Date.now()) / 1000));
      warning = `Live connection lost: reconnecting in ${wait} s (attempt ${state.attempts}). The table shows the last data received.`;
      down = true;
    }
    banner.textContent = warning;
    banner.hidden = warning === "";
    banner.classList.toggle("down", down);
    banner.dataset.kind = down ? "down" : state.degraded && warning.startsWith("Market data") ? "degraded" : warning ? "stale" : "";
  }

  // --- wiring -------------------------------------------------------------------------

  $("filters").addEventListener("input", onFilterInput);
  $("filters").addEventListener("change", onFilterInput);
  $("opps").tHead.addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (th) setSort(th);
  });
  $("opps").tBodies[0].addEventListener("click", (event) => {
    if (event.target.closest("#show-more")) {
      state.shown += PAGE;
      renderTable();
      return;
    }
    const button = event.target.closest("button.routes");
    if (button) {
      const symbol = button.getAttribute("data-symbol");
      if (state.routesOpen.has(symbol)) state.routesOpen.delete(symbol);
      else state.routesOpen.add(symbol);
      renderTable();
      return;
    }
    const row = event.target.closest("tr.opp-row");
    if (row) toggleRow(row);
  });
  $("f-alert").addEventListener("change", onAlertToggle);
  $("opps").tBodies[0].addEventListener("keydown", (event) => {
    const row = event.target.closest("tr.opp-row");
    if (row && (event.key === "Enter" || event.key === " ")) {
      event.preventDefault();
      toggleRow(row);
    }
  });

  restoreFilters();
  renderTable();
  renderChart();
  connect();
  pollHealth();
  window.setInterval(refreshStatus, 1000);
})();

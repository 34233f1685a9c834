// onevoice Studio: the journey map and the dashboards, drawn by plotly.js from the
// Studio's JSON endpoints (loaded after the page: a big window takes a moment).
(function () {
  "use strict";
  const config = { responsive: true, displaylogo: false };
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls; return e; };
  const num = (v, digits = 2) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toLocaleString("en-GB", { maximumFractionDigits: digits });
  const pct = (v, digits = 1) => (v === null || v === undefined) ? "–" : `${num(100 * v, digits)}%`;
  const money = (v) => (v === null || v === undefined) ? "–" : `£${num(v, 0)}`;
  const row = (tbody, values, numeric = []) => {
    const tr = el("tr");
    values.forEach((v, i) => { const td = el(i === 0 ? "th" : "td", v, numeric.includes(i) ? "num" : ""); if (i === 0) td.scope = "row"; tr.append(td); });
    tbody.append(tr);
  };
  const draw = (id, figure) => { const box = document.getElementById(id); if (box && window.Plotly) window.Plotly.newPlot(box, figure.data, figure.layout || {}, config); };
  const query = () => { const q = new URLSearchParams(window.location.search); [...q.keys()].forEach(k => { if (!q.get(k)) q.delete(k); }); return q; };
  const problem = async (r) => { try { const b = await r.json(); return b.error.message + (b.error.field ? ` (${b.error.field})` : ""); } catch (e) { return `the server answered ${r.status}`; } };

  // ---- Journeys -------------------------------------------------------------------------
  const journeys = document.getElementById("journeys-app");
  if (journeys) {
    const status = document.getElementById("journey-status");
    const tabs = [["tab-sankey", "sankey"], ["tab-flow", "flow"]];
    tabs.forEach(([tab, panel]) => document.getElementById(tab).addEventListener("click", () => {
      tabs.forEach(([t, p]) => { const on = t === tab; document.getElementById(t).setAttribute("aria-selected", String(on)); document.getElementById(p).hidden = !on; });
      if (window.Plotly) window.Plotly.Plots.resize(document.getElementById(panel));
    }));
    fetch(`${journeys.dataset.url}?${query()}`).then(async (r) => {
      if (!r.ok) { status.textContent = "Could not build the map: " + await problem(r); status.className = "error"; status.setAttribute("role", "alert"); return; }
      const m = await r.json();
      status.textContent = m.journeys ? "" : "No journeys in this window and segment.";
      document.getElementById("map-summary").textContent = `${num(m.journeys, 0)} journeys of ${num(m.customers, 0)} customers over ${m.steps} steps; the ${m.drawn_steps} busiest steps are drawn. The Sankey keeps the transitions that flow one way; the flow graph shows the way back too.`;
      draw("sankey", m.sankey);
      const flow = document.getElementById("flow");
      flow.hidden = false; draw("flow", m.flow); flow.hidden = document.getElementById("tab-flow").getAttribute("aria-selected") !== "true";
      draw("friction-chart", m.friction.figure);
      const where = document.querySelector("#friction-where tbody");
      m.friction.where.forEach(w => row(where, [w.flag.replace(/_/g, " "), w.what, num(w.count, 0)], [2]));
      const list = document.getElementById("path-list");
      m.paths.forEach(p => { const li = el("li", p.path); li.append(" ", el("small", `${num(p.journeys, 0)} journeys (${pct(p.share)}), ${pct(p.goal_share)} reach a goal`)); list.append(li); });
      const entries = document.getElementById("entry-list");
      m.entries.forEach(id => { const o = el("option"); o.value = id; entries.append(o); });
      journeys.dataset.ready = "true";
    });
    const form = document.getElementById("conformance-form");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById("conformance-result");
      out.textContent = "Comparing…";
      const q = query(); q.delete("entry");
      new FormData(form).forEach((v, k) => q.set(k, v));
      const r = await fetch(`${journeys.dataset.conformanceUrl}?${q}`);
      out.innerHTML = "";
      if (!r.ok) { const p = el("p", await problem(r), "error"); p.setAttribute("role", "alert"); out.append(p); return; }
      const c = await r.json();
      const p = el("p"); p.id = "conformance-summary";
      p.textContent = `${num(c.entered, 0)} journeys entered “${c.design.name}”: ${num(c.followed, 0)} (${pct(c.follow_share)}) followed it, ${num(c.completed, 0)} (${pct(c.complete_share)}) completed it.`;
      out.append(p);
      if (c.leaves.length) {
        const t = el("table"); t.innerHTML = "<caption class=hint>Where journeys leave the design</caption><thead><tr><th scope=col>After step</th><th scope=col>Went to</th><th scope=col>Journeys</th></tr></thead><tbody></tbody>";
        c.leaves.forEach(l => row(t.tBodies[0], [l.after_step, l.to_step, num(l.journeys, 0)], [2]));
        const wrap = el("div", null, "table-wrap"); wrap.append(t); out.append(wrap);
      }
    });
  }

  // ---- Dashboards -----------------------------------------------------------------------
  const dashboards = document.getElementById("dashboards-app");
  if (dashboards) {
    const status = document.getElementById("dashboard-status");
    fetch(`${dashboards.dataset.url}?${query()}`).then(async (r) => {
      if (!r.ok) { status.textContent = "Could not read the reports: " + await problem(r); status.className = "error"; status.setAttribute("role", "alert"); return; }
      const d = await r.json();
      status.textContent = d.roi.rows.length ? `${d.since.slice(0, 10)} to ${d.until.slice(0, 10)}` : `No decisions with a control group between ${d.since.slice(0, 10)} and ${d.until.slice(0, 10)}: nothing to measure yet (decisions come from POST /v1/decide).`;
      draw("roi-chart", d.roi.figure);
      draw("lift-chart", d.lift.figure);
      draw("respect-chart", d.respect.figure);
      draw("gap-chart", d.gap.figure);
      const roi = document.querySelector("#roi-table tbody");
      d.roi.rows.forEach(x => row(roi, [x.key, num(x.contacts, 0), `${num(x.incremental_conversions, 1)} (${num(x.conversions_lower, 1)} to ${num(x.conversions_upper, 1)})`, `${money(x.incremental_revenue)} (${money(x.revenue_lower)} to ${money(x.revenue_upper)})`, money(x.cost), x.roi === null ? "–" : `${num(x.roi, 2)}×`, x.verdict], [1]));
      const respect = document.querySelector("#respect-table tbody");
      d.respect.rows.forEach(x => row(respect, [x.key, num(x.messages_per_customer_week, 2), num(x.unsubscribes, 0), `${pct(x.unsubscribe_rate, 2)} (${pct(x.unsubscribe_lower, 2)} to ${pct(x.unsubscribe_upper, 2)})`, pct(x.erosion_per_year, 2)], [1, 2]));
      const slider = document.getElementById("budget-slider");
      const out = document.getElementById("budget-change");
      const budget = document.querySelector("#budget-table tbody");
      const show = () => {
        const change = Number(slider.value) / 100;
        out.textContent = `${change > 0 ? "+" : ""}${slider.value}%`;
        budget.innerHTML = "";
        const rows = d.budget.rows.filter(x => Math.abs(x.change - change) < 1e-9);
        if (!rows.length) { const tr = el("tr"); const td = el("td", change === 0 ? "No change: today's budget." : "No program has decisions with a control group to fit a curve on yet."); td.colSpan = 6; tr.append(td); budget.append(tr); return; }
        rows.forEach(x => row(budget, [x.program, `${num(x.contacts, 0)} (${num(x.periods, 0)} periods)`, money(x.delta), `${money(x.delta_lower)} to ${money(x.delta_upper)}`, money(x.marginal_net), x.note], [1, 2]));
      };
      slider.addEventListener("input", show);
      show();
      dashboards.dataset.ready = "true";
    });
  }
})();

// onevoice Studio: small progressive enhancement. Every page works without it.
(function () {
  "use strict";
  const csrf = () => { const i = document.querySelector("input[name=csrf_token]"); return i ? i.value : ""; };

  // Timeline: channel filters act at once, without a reload.
  const filters = document.getElementById("timeline-filters");
  if (filters) {
    const apply = () => {
      const on = new Set([...filters.querySelectorAll("[data-filter-channel]")].filter(b => b.checked).map(b => b.value));
      document.querySelectorAll(".timeline li[data-channel]").forEach(li => { li.hidden = !on.has(li.dataset.channel); });
    };
    filters.addEventListener("change", apply);
  }

  // Eligibility rule: checked as you type, with the error and its position.
  const rule = document.getElementById("eligibility");
  const status = document.getElementById("rule-status");
  if (rule && status) {
    let timer = null, seq = 0;
    const check = async () => {
      const mine = ++seq;
      const r = await fetch(rule.dataset.checkUrl, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf() }, body: JSON.stringify({ text: rule.value }) });
      const body = await r.json();
      if (mine !== seq) return;
      if (body.ok) { status.textContent = rule.value.trim() ? "✓ valid rule" : "No rule: everyone is eligible"; status.className = "rule-status ok"; rule.classList.remove("invalid"); rule.setAttribute("aria-invalid", "false"); }
      else {
        const where = body.line ? ` (line ${body.line}, column ${body.column})` : "";
        status.textContent = "✗ " + body.message + where; status.className = "rule-status bad"; rule.classList.add("invalid"); rule.setAttribute("aria-invalid", "true");
      }
    };
    rule.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 250); });
  }

  // Preview who of a sample would be eligible and what they would be offered.
  const previewButton = document.getElementById("preview-button");
  if (previewButton) {
    previewButton.addEventListener("click", async () => {
      const form = previewButton.closest("form");
      const out = document.getElementById("preview");
      out.textContent = "Deciding for a sample of customers…";
      const r = await fetch(previewButton.dataset.url, { method: "POST", headers: { "x-csrf-token": csrf() }, body: new FormData(form) });
      const body = await r.json();
      if (!r.ok) { out.innerHTML = ""; const p = document.createElement("p"); p.className = "error"; p.setAttribute("role", "alert"); p.textContent = body.error.message + (body.error.field ? ` (${body.error.field})` : ""); out.append(p); return; }
      out.innerHTML = "";
      const h = document.createElement("p");
      h.id = "preview-summary";
      h.innerHTML = `<strong>${body.eligible}</strong> of ${body.sample} customers eligible for <code></code> on ${body.channel}; it would be offered to <strong>${body.offered}</strong>.`;
      h.querySelector("code").textContent = body.action_id;
      out.append(h);
      const table = document.createElement("table");
      table.innerHTML = "<thead><tr><th scope=col>Customer</th><th scope=col>Lifecycle</th><th scope=col>Eligible</th><th scope=col>Would be offered</th><th scope=col>Why</th></tr></thead><tbody></tbody>";
      for (const row of body.rows) {
        const tr = document.createElement("tr");
        for (const v of [row.customer, row.lifecycle, row.eligible ? "yes" : "no", row.offered || "nothing", row.why]) { const td = document.createElement("td"); td.textContent = v; tr.append(td); }
        table.tBodies[0].append(tr);
      }
      const wrap = document.createElement("div"); wrap.className = "table-wrap"; wrap.append(table); out.append(wrap);
    });
  }

  // Contact policy: the effect of the caps on the form, before saving.
  const effectButton = document.getElementById("effect-button");
  if (effectButton) {
    effectButton.addEventListener("click", async (ev) => {
      ev.preventDefault();
      const form = effectButton.closest("form");
      const out = document.getElementById("proposed-effect");
      out.textContent = "Replaying last week's contacts…";
      const r = await fetch(effectButton.dataset.url, { method: "POST", headers: { "x-csrf-token": csrf() }, body: new FormData(form) });
      const body = await r.json();
      if (!r.ok) { out.textContent = body.error.message + (body.error.field ? ` (${body.error.field})` : ""); out.className = "error"; return; }
      out.className = "";
      out.textContent = `With these caps, ${body.blocked_customers} of ${body.customers} contacted customers would have had ${body.blocked_contacts} of ${body.contacts} marketing contacts blocked last week.`;
    });
  }

  // Contact policy: the caps in force, replayed over last week, loaded after the page.
  const effectNow = document.getElementById("effect-now");
  if (effectNow && !document.getElementById("blocked-customers")) {
    fetch(effectNow.dataset.url).then(r => r.json()).then((e) => {
      effectNow.innerHTML = "";
      const p = document.createElement("p");
      const big = document.createElement("span");
      big.className = "big"; big.id = "blocked-customers"; big.textContent = e.blocked_customers;
      p.append(big, ` of ${e.customers} contacted customers would have had marketing held back by the caps in force: ${e.blocked_contacts} of ${e.contacts} contacts.`);
      effectNow.append(p);
      const reach = document.getElementById("consent-reach");
      if (reach && e.consent) {
        reach.innerHTML = "";
        const table = document.createElement("table");
        table.id = "consent-table";
        table.innerHTML = "<thead><tr><th scope=col>Channel</th><th scope=col>Granted</th><th scope=col>Withdrawn</th></tr></thead><tbody></tbody>";
        for (const [channel, n] of Object.entries(e.consent.reach)) {
          if (!n.granted && !n.withdrawn) continue;
          const tr = document.createElement("tr");
          for (const v of [channel.replace("_", " "), `${n.granted} of ${e.consent.customers}`, n.withdrawn]) { const td = document.createElement("td"); td.textContent = v; tr.append(td); }
          table.tBodies[0].append(tr);
        }
        const summary = document.createElement("p");
        summary.id = "consent-summary";
        const rows = table.tBodies[0].rows.length;
        summary.textContent = rows ? `Of ${e.consent.customers} customers:` : `None of ${e.consent.customers} customers has marketing consent on any channel: decide offers them service actions only.`;
        reach.append(summary);
        if (rows) reach.append(table);
      }
      const reasons = Object.entries(e.reasons || {});
      if (reasons.length) {
        const ul = document.createElement("ul"); ul.className = "compact";
        for (const [why, n] of reasons) { const li = document.createElement("li"); li.textContent = `${why}: ${n}`; ul.append(li); }
        effectNow.append(ul);
      }
    });
  }

  // Charts: data comes in <script type="application/json"> blocks, drawn by plotly.js.
  document.querySelectorAll("[data-chart]").forEach((el) => {
    if (!window.Plotly) return;
    const spec = JSON.parse(document.getElementById(el.dataset.chart).textContent);
    window.Plotly.newPlot(el, spec.data, spec.layout || {}, { responsive: true, displaylogo: false });
  });
})();

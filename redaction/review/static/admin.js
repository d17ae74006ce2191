"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  let csrf = null;

  async function api(method, path, body) {
    const opt = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") opt.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) { opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body); }
    const r = await fetch(path, opt);
    if (r.status === 401) { location.href = "/login"; throw new Error("signed out"); }
    const json = await r.json().catch(() => null);
    if (!r.ok) throw new Error((json && json.error) || r.statusText);
    return json;
  }

  function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.append(td); return td; }
  function money(c, cur) { return c === null ? "–" : `${(c / 100).toFixed(2)} ${cur}`; }
  function fail(e) { $("error").textContent = e.message; $("error").hidden = false; }

  async function refresh() {
    const [pending, ledger, skills, counts] = await Promise.all([
      api("GET", "/api/admin/submissions"), api("GET", "/api/admin/ledger"),
      api("GET", "/api/admin/skills"), api("GET", "/api/admin/counts"),
    ]);
    $("counts").textContent = Object.entries(counts).map(([k, v]) => `${k}: ${v}`).join(" · ");
    const body = $("pending"); body.replaceChildren();
    for (const p of pending.pending) {
      const tr = document.createElement("tr");
      cell(tr, p.clip_id); cell(tr, p.reviewer); cell(tr, p.label);
      cell(tr, `${p.masked_transcript} → ${p.text || "(none)"}`);
      const td = document.createElement("td");
      const accept = document.createElement("button"); accept.textContent = "Accept";
      const feedback = document.createElement("input"); feedback.placeholder = "why rejected (required)";
      const reject = document.createElement("button"); reject.textContent = "Reject";
      accept.addEventListener("click", () => decide(p.submission, true, "").catch(fail));
      reject.addEventListener("click", () => decide(p.submission, false, feedback.value).catch(fail));
      td.append(accept, feedback, reject); tr.append(td); body.append(tr);
    }
    const lb = $("ledger"); lb.replaceChildren();
    for (const r of ledger.reviewers) {
      const t = r.total, tr = document.createElement("tr");
      cell(tr, r.username); cell(tr, t.clips); cell(tr, t.hours.toFixed(2));
      cell(tr, money(t.earned_cents, t.currency)); cell(tr, money(t.effective_cents_per_hour, t.currency));
      cell(tr, money(t.floor_cents_per_hour, t.currency)); cell(tr, money(t.top_up_cents, t.currency));
      lb.append(tr);
    }
    const fmt = (o) => Object.entries(o).map(([k, v]) => `${k} ≈ ${v}`).join(", ");
    $("skills").textContent = Object.keys(skills.languages).length
      ? `${skills.profiles} profiles. Languages: ${fmt(skills.languages)}. Accents: ${fmt(skills.accents)}.`
      : `${skills.profiles} profile(s): estimates are shown from 10 on.`;
  }

  async function decide(id, accept, feedback) {
    await api("POST", `/api/admin/submissions/${id}/decide`, { accept, feedback });
    await refresh();
  }

  async function start() {
    const me = await api("GET", "/api/me");
    csrf = me.csrf; $("who").textContent = me.username;
    $("logout").addEventListener("click", async () => { await api("POST", "/api/logout"); location.href = "/login"; });
    await refresh();
  }
  start().catch(fail);
})();

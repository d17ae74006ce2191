// The reviewer's page: queue, player with waveform and bleeped regions, editor, labels.
// Text from the server is only ever set with textContent / value (never innerHTML).
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { csrf: null, me: null, clip: null, samples: null, blobUrl: null };
  const PLACEHOLDER = /\[([A-Z][A-Z0-9_]{0,39})\]/g;

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(method, path, body) {
    const opt = { method, headers: {}, credentials: "same-origin" };
    if (method !== "GET") opt.headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) {
      opt.headers["Content-Type"] = "application/json";
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    if (r.status === 401) { location.href = "/login"; throw new ApiError(401, "signed out"); }
    const json = (r.headers.get("content-type") || "").includes("json") ? await r.json() : null;
    if (!r.ok) throw new ApiError(r.status, (json && json.error) || r.statusText);
    return json;
  }

  function show(el, on) { el.hidden = !on; }
  function status(text) { $("status").textContent = text || ""; }
  function error(text) { $("error").textContent = text || ""; show($("error"), !!text); }
  function placeholders(text) { return Array.from(text.matchAll(PLACEHOLDER), (m) => m[1]); }

  // --- header, profile, ledger -----------------------------------------------------------

  function renderExposure(e) {
    $("exposure").textContent =
      `today: ${e.clips_today}/${e.max_clips_per_day} clips, ` +
      `${e.flagged_today}/${e.max_flagged_per_day} with a content warning`;
  }

  function choice(container, name, value) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = value; box.name = name; box.id = `${name}-${value}`;
    label.append(box, " " + value);
    container.append(label);
  }

  function renderProfile(me) {
    $("rr-epsilon").textContent = String(me.rr_epsilon);
    for (const l of me.languages) choice($("profile-languages"), "lang", l);
    for (const a of me.accents) choice($("profile-accents"), "accent", a);
    show($("profile-panel"), me.profile.epsilon === null);
  }

  async function saveProfile() {
    const picked = (name) =>
      Array.from(document.querySelectorAll(`input[name=${name}]:checked`), (b) => b.value);
    const eps = state.me.rr_epsilon;
    const body = {
      languages: RR.perturb(picked("lang"), state.me.languages, eps),
      accents: RR.perturb(picked("accent"), state.me.accents, eps),
      epsilon: eps,
      perturbed: true,
    };
    const stored = await api("POST", "/api/profile", body);
    $("profile-result").textContent =
      `Saved (randomized): languages ${stored.languages.join(", ") || "none"}; ` +
      `accents ${stored.accents.join(", ") || "none"}.`;
    show($("profile-result"), true);
    setTimeout(() => show($("profile-panel"), false), 1500);
  }

  function money(cents, cur) { return `${(cents / 100).toFixed(2)} ${cur}`; }

  async function refreshLedger() {
    const data = await api("GET", "/api/ledger");
    const t = data.reviewers.length ? data.reviewers[0].total : null;
    if (!t) { $("ledger").textContent = "No work recorded yet."; return; }
    const rate = t.effective_cents_per_hour === null ? "–" : money(t.effective_cents_per_hour, t.currency);
    $("ledger").textContent =
      `${t.clips} clips in ${(t.seconds / 60).toFixed(1)} min ` +
      `(average ${t.average_seconds_per_clip ?? "–"} s per clip). Earned ${money(t.earned_cents, t.currency)}; ` +
      `effective ${rate}/h against a floor of ${money(t.floor_cents_per_hour, t.currency)}/h; ` +
      `top-up owed ${money(t.top_up_cents, t.currency)}.`;
  }

  async function refreshFeedback() {
    const data = await api("GET", "/api/feedback");
    const list = $("feedback-list");
    list.replaceChildren();
    for (const f of data.rejected) {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = `“${f.text || f.label}”: ${f.feedback} `;
      const redo = document.createElement("button");
      redo.textContent = "Redo";
      redo.className = "redo";
      redo.addEventListener("click", () => run(async () => {
        const got = await api("POST", `/api/clips/${encodeURIComponent(f.clip_id)}/redo`);
        await load(got.clip);
        status("Redo of rejected work");
        await refreshFeedback();
      }));
      li.append(text, redo);
      list.append(li);
    }
    show($("feedback-panel"), data.rejected.length > 0);
  }

  // --- waveform ---------------------------------------------------------------------------

  // 16-bit PCM mono WAV -> Float32Array (the service only ever serves that format).
  function decodeWav(buf) {
    const v = new DataView(buf);
    let pos = 12;
    while (pos + 8 <= v.byteLength) {
      const id = String.fromCharCode(v.getUint8(pos), v.getUint8(pos + 1), v.getUint8(pos + 2), v.getUint8(pos + 3));
      const size = v.getUint32(pos + 4, true);
      if (id === "data") {
        const n = Math.floor(Math.min(size, v.byteLength - pos - 8) / 2);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = v.getInt16(pos + 8 + 2 * i, true) / 32768;
        return out;
      }
      pos += 8 + size + (size & 1);
    }
    return new Float32Array(0);
  }

  function drawWave() {
    const canvas = $("wave");
    const ctx = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, mid = h / 2;
    ctx.fillStyle = "#fbfbfd"; ctx.fillRect(0, 0, w, h);
    const clip = state.clip;
    if (!clip) return;
    const dur = clip.duration;
    for (const s of clip.spans) {  // the bleeped regions, from the spans' times
      const x0 = (s.t_start / dur) * w, x1 = (s.t_end / dur) * w;
      ctx.fillStyle = "rgba(230, 120, 20, 0.28)"; ctx.fillRect(x0, 0, Math.max(2, x1 - x0), h);
      ctx.fillStyle = "#a14c00"; ctx.font = "12px sans-serif"; ctx.fillText(s.label, x0 + 3, 14);
    }
    ctx.strokeStyle = "#3050a0"; ctx.beginPath();
    const x = state.samples;
    if (x && x.length) {
      const per = Math.max(1, Math.floor(x.length / w));
      for (let px = 0; px < w; px++) {
        let lo = 0, hi = 0;
        for (let i = px * per; i < Math.min(x.length, (px + 1) * per); i++) {
          if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i];
        }
        ctx.moveTo(px + 0.5, mid - hi * mid); ctx.lineTo(px + 0.5, mid - lo * mid + 1);
      }
    } else {
      ctx.moveTo(0, mid); ctx.lineTo(w, mid);
    }
    ctx.stroke();
    const audio = $("audio");
    if (audio.duration > 0) {
      const px = (audio.currentTime / dur) * w;
      ctx.strokeStyle = "#c00"; ctx.beginPath(); ctx.moveTo(px, 0); ctx.lineTo(px, h); ctx.stroke();
    }
    $("time").textContent = `${(audio.currentTime || 0).toFixed(1)} / ${dur.toFixed(1)} s`;
  }

  function animate() {
    drawWave();
    if (!$("audio").paused) requestAnimationFrame(animate);
  }

  // --- the clip ---------------------------------------------------------------------------

  async function fetchAudio() {
    const clip = state.clip;
    const r = await fetch(clip.audio_url, { credentials: "same-origin" });
    if (!r.ok) throw new ApiError(r.status, "the audio could not be loaded");
    const buf = await r.arrayBuffer();
    if (state.clip !== clip) return;
    state.samples = decodeWav(buf);
    if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
    state.blobUrl = URL.createObjectURL(new Blob([buf], { type: "audio/wav" }));
    $("audio").src = state.blobUrl;
    $("play").disabled = false;
    drawWave();
  }

  async function load(clip) {
    state.clip = clip; state.samples = null;
    $("audio").pause(); $("audio").removeAttribute("src"); $("play").disabled = true;
    show($("clip-panel"), !!clip);
    if (!clip) return;
    $("transcript").value = clip.masked_transcript;
    const spans = $("spans"); spans.replaceChildren();
    for (const s of clip.spans) {
      const li = document.createElement("li");
      li.textContent = `[${s.label}] bleeped ${s.t_start.toFixed(2)}–${s.t_end.toFixed(2)} s`;
      spans.append(li);
    }
    show($("redo-note"), clip.redo);
    $("redo-feedback").textContent = clip.feedback || "";
    const mustWarn = clip.content_warning && !clip.warning_acknowledged;
    $("warning-categories").textContent = clip.categories.join(", ");
    show($("warning"), mustWarn);
    show($("player"), !mustWarn);
    setLabelsEnabled(!mustWarn);
    drawWave();
    if (!mustWarn) await fetchAudio();
  }

  // Claim the next clip (or the one held); returns why there is none, or "".
  async function next() {
    const got = await api("POST", "/api/claim");
    await load(got.clip);
    await refreshMe();
    return got.clip ? "" : got.reason;
  }

  async function nextClicked() {
    status("");
    status(await next());
  }

  // Nothing can be labelled before the content warning is read (skipping always can).
  function setLabelsEnabled(on) {
    for (const b of document.querySelectorAll("button[data-label]")) b.disabled = !on;
    $("transcript").disabled = !on;
  }

  async function acknowledge() {
    await api("POST", `/api/clips/${encodeURIComponent(state.clip.id)}/acknowledge`);
    state.clip.warning_acknowledged = true;
    show($("warning"), false); show($("player"), true); setLabelsEnabled(true);
    await fetchAudio();
  }

  async function label(name) {
    if (!state.clip) return;
    const text = $("transcript").value;
    const body = { label: name };
    if (name === "corrected") {
      const want = placeholders(state.clip.masked_transcript), got = placeholders(text);
      if (want.join("|") !== got.join("|")) {
        throw new ApiError(422, `Keep the labels as they are: ${want.map((l) => `[${l}]`).join(" ") || "none"}`);
      }
      body.text = text;
    }
    await api("POST", `/api/clips/${encodeURIComponent(state.clip.id)}/submit`, body);
    if (document.activeElement) document.activeElement.blur();  // shortcuts work again
    await load(null);
    const [, reason] = await Promise.all([refreshLedger(), next()]);
    status(`Saved: ${name.replace("_", " ")}. Thank you.${reason ? " " + reason : ""}`);
  }

  async function skip() {
    if (!state.clip) return;
    await api("POST", `/api/clips/${encodeURIComponent(state.clip.id)}/skip`);
    await load(null);
    status("Skipped.");
    await refreshLedger();
  }

  function togglePlay() {
    const a = $("audio");
    if ($("play").disabled) return;
    if (a.paused) { a.play(); requestAnimationFrame(animate); } else a.pause();
  }

  // Actions run one after another, in the order they were asked for (a key pressed while a
  // clip loads applies once it has loaded, never to a half-loaded clip, and is never lost).
  let chain = Promise.resolve();
  function run(fn) {
    chain = chain.then(async () => {
      error("");
      try { await fn(); } catch (e) { error(e.message); }
    });
    return chain;
  }

  async function refreshMe() {
    state.me = await api("GET", "/api/me");
    state.csrf = state.me.csrf;
    renderExposure(state.me.exposure);
  }

  // --- wiring -----------------------------------------------------------------------------

  function wire() {
    $("next").addEventListener("click", () => run(nextClicked));
    $("warning-ack").addEventListener("click", () => run(acknowledge));
    $("warning-skip").addEventListener("click", () => run(skip));
    $("skip").addEventListener("click", () => run(skip));
    $("play").addEventListener("click", togglePlay);
    $("profile-save").addEventListener("click", () => run(saveProfile));
    $("profile-later").addEventListener("click", () => show($("profile-panel"), false));
    $("logout").addEventListener("click", () => run(async () => {
      await api("POST", "/api/logout"); location.href = "/login";
    }));
    for (const b of document.querySelectorAll("button[data-label]")) {
      b.addEventListener("click", () => run(() => label(b.dataset.label)));
    }
    $("wave").addEventListener("click", (ev) => {
      const a = $("audio"); if (!state.clip || $("play").disabled) return;
      const r = ev.target.getBoundingClientRect();
      a.currentTime = ((ev.clientX - r.left) / r.width) * state.clip.duration; drawWave();
    });
    $("audio").addEventListener("ended", drawWave);
    $("audio").addEventListener("pause", () => { $("play").textContent = "Play"; drawWave(); });
    $("audio").addEventListener("play", () => { $("play").textContent = "Pause"; });
    document.addEventListener("keydown", (ev) => {
      const editing = ev.target.tagName === "TEXTAREA" || ev.target.tagName === "INPUT";
      if (editing) {
        if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); run(() => label("corrected")); }
        if (ev.key === "Escape") ev.target.blur();
        return;
      }
      if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
      const mustWarn = state.clip && !$("warning").hidden;
      const keys = {
        n: () => run(nextClicked), s: () => run(skip), " ": togglePlay,
        e: () => $("transcript").focus(),
        1: () => run(() => label("correct")), 2: () => run(() => label("corrected")),
        3: () => run(() => label("unintelligible")), 4: () => run(() => label("not_speech")),
      };
      const k = ev.key.toLowerCase();
      if (!(k in keys)) return;
      if (mustWarn && k !== "s" && k !== "n") return;  // nothing plays or submits before the warning
      ev.preventDefault();
      keys[k]();
    });
  }

  async function start() {
    wire();
    await refreshMe();
    $("who").textContent = state.me.username;
    $("purpose").textContent = state.me.purpose;
    renderProfile(state.me);
    drawWave();
    await Promise.all([refreshLedger(), refreshFeedback()]);
  }

  start().catch((e) => error(e.message));
})();

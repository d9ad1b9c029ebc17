// vocml dashboard: the page's writes go to the /v1 API with the session cookie. No build step, no CDN.
"use strict";

async function api(method, url, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  let data = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) data = await response.json();
  return { ok: response.ok, status: response.status, data };
}

function problemText(result) {
  const d = result.data || {};
  return d.detail || `request failed (${result.status})`;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// --- sign in / sign out -------------------------------------------------------------------
// Only a path on this server: "/\\host" or "//host" would leave the site.
function samePath(next) {
  try {
    const url = new URL(next || "/", window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/";
  } catch (_) {
    return "/";
  }
}

async function signIn(token, next, status) {
  status.textContent = "Signing in…";
  const result = await api("POST", "/v1/session", { token });
  if (result.ok) {
    window.location.assign(samePath(next));
  } else {
    status.textContent = "Sign-in failed: " + problemText(result);
  }
}

function initSignIn() {
  const form = document.getElementById("signin");
  if (!form) return;
  const status = document.getElementById("signin-status");
  const next = form.dataset.next || "/";
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    signIn(form.token.value.trim(), next, status);
  });
  // `vocml serve` prints /#token=... (a fragment never reaches the server or its logs); ?token= works too.
  const params = new URLSearchParams(window.location.search);
  const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const token = fragment.get("token") || params.get("token");
  if (token) {
    // The one-time link: drop the token from the address bar and history, then exchange it.
    history.replaceState(null, "", window.location.pathname + (params.get("next") ? "?next=" + encodeURIComponent(params.get("next")) : ""));
    signIn(token, next, status);
  }
}

function initSignOut() {
  const button = document.getElementById("signout");
  if (!button) return;
  button.addEventListener("click", async () => {
    await api("DELETE", "/v1/session");
    window.location.assign("/signin");
  });
}

// --- label review --------------------------------------------------------------------------
function initReview() {
  document.querySelectorAll("form.review").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = form.querySelector(".status");
      const label = form.label.value;
      status.textContent = "Saving…";
      const result = await api("POST", `/v1/records/${form.dataset.record}/review`, { label });
      if (result.ok) {
        const item = form.closest(".record");
        const label = result.data.label;
        item.querySelector(".label-value").replaceChildren(el("span", { class: `badge ${label}` }, LABEL_WORDS[label] || label));
        const review = result.data.review || {};
        const who = item.querySelector(".review-who");
        if (who) who.textContent = review.reviewed_by ? `set by ${review.reviewed_by} just now` : "";
        status.textContent = `Saved: now ${LABEL_WORDS[label] || label}. Trends include it on reload.`;
      } else {
        status.textContent = "Not saved: " + problemText(result);
      }
    });
  });
}

// --- upload with progress ------------------------------------------------------------------
function renderBatch(batch) {
  document.getElementById("batch-id").textContent = batch.id;
  document.getElementById("batch-status").textContent = batch.status;
  const bar = document.getElementById("progress");
  const counts = document.getElementById("batch-counts");
  const percentBox = document.getElementById("batch-percent");
  const processed = batch.rows_stored + batch.rows_rejected + batch.rows_duplicate;
  const finished = batch.status === "done" || batch.status === "failed";
  const expected = batch.rows_expected;
  let percent = null;
  if (finished) percent = 100;
  else if (expected) percent = Math.min(99, Math.floor((100 * processed) / expected));
  bar.max = 100;
  if (percent === null) bar.removeAttribute("value");
  else bar.value = percent;
  percentBox.textContent = percent === null ? "" : `${percent}%`;
  const of = expected && !finished ? ` of about ${expected.toLocaleString()}` : "";
  counts.textContent =
    `${processed.toLocaleString()}${of} rows read` + (percent === null ? "" : ` (${percent}%)`) +
    `: ${batch.rows_stored.toLocaleString()} stored, ${batch.rows_rejected.toLocaleString()} rejected, ` +
    `${batch.rows_duplicate.toLocaleString()} duplicates` +
    (batch.status === "failed" && batch.error ? `. Failed: ${batch.error}` : "") +
    (batch.status === "done" ? ". Done." : "");
  const box = document.getElementById("batch-errors");
  box.replaceChildren();
  rowTable(box, batch, {
    rows: batch.errors, total: batch.errors_total, key: "errors", param: "errors",
    caption: "Rejected rows", more: "rejected rows", id: "more-errors", finished,
  });
  rowTable(box, batch, {
    rows: batch.duplicates, total: batch.rows_duplicate, key: "duplicates", param: "duplicates",
    caption: "Skipped: id already stored", more: "skipped rows", id: "more-duplicates", finished,
  });
}

// A table of listed rows (line, field, reason); when finished, the rest can be paged in on request.
function rowTable(box, batch, opts) {
  if (!opts.rows || !opts.rows.length) return;
  const table = el("table", { class: "errors" });
  table.append(el("caption", {}, `${opts.caption} (${opts.total})`));
  const head = el("tr");
  ["Line", "Field", "Reason"].forEach((h) => head.append(el("th", { scope: "col" }, h)));
  const thead = el("thead");
  thead.append(head);
  table.append(thead);
  const body = el("tbody");
  const addRows = (rows) =>
    rows.forEach((e) => {
      const row = el("tr");
      row.append(el("td", { class: "num" }, e.line === null ? "–" : String(e.line)));
      row.append(el("td", {}, e.field || "–"));
      row.append(el("td", {}, e.message));
      body.append(row);
    });
  addRows(opts.rows);
  table.append(body);
  box.append(table);
  if (opts.total > opts.rows.length && opts.finished) {
    const more = el("button", { type: "button", id: opts.id }, "");
    const label = () => `Show more ${opts.more} (${body.children.length} of ${opts.total} shown)`;
    more.textContent = label();
    more.addEventListener("click", async () => {
      const offset = body.children.length;
      const result = await api(
        "GET",
        `/v1/batches/${encodeURIComponent(batch.id)}?${opts.param}_offset=${offset}&${opts.param}_limit=1000`
      );
      if (!result.ok) {
        more.textContent = "Could not load more: " + problemText(result);
        return;
      }
      addRows(result.data[opts.key]);
      if (body.children.length >= opts.total) more.remove();
      else more.textContent = label();
    });
    box.append(more);
  }
}

async function pollBatch(id) {
  for (;;) {
    const result = await api("GET", `/v1/batches/${encodeURIComponent(id)}`);
    if (!result.ok) {
      document.getElementById("batch-counts").textContent = "Could not read progress: " + problemText(result);
      return;
    }
    renderBatch(result.data);
    if (result.data.status === "done" || result.data.status === "failed") return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function showStart(data) {
  // From the first second: the rows to expect, before the first poll answers.
  renderBatch({
    id: data.id, status: data.status, rows_stored: 0, rows_rejected: 0, rows_duplicate: 0,
    rows_expected: data.rows_expected, errors: [], errors_total: 0, duplicates: [],
  });
}

function initUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  const box = document.getElementById("progress-box");
  if (box.dataset.batch) pollBatch(box.dataset.batch);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    box.hidden = false;
    const already = document.getElementById("already");
    already.hidden = true;
    document.getElementById("batch-counts").textContent = "Uploading…";
    document.getElementById("batch-errors").replaceChildren();
    const data = new FormData();
    data.append("file", form.file.files[0]);
    const result = await api("POST", "/v1/batches", data);
    if (!result.ok) {
      document.getElementById("batch-status").textContent = "rejected";
      document.getElementById("batch-counts").textContent = "Upload rejected: " + problemText(result);
      return;
    }
    if (result.status === 200) {
      // The same file went in before: say when, and show that batch instead of storing it twice.
      const when = result.data.created_at ? new Date(result.data.created_at) : null;
      const stamp = when ? when.toISOString().slice(0, 16).replace("T", " ") + " UTC" : "before";
      already.replaceChildren(
        document.createTextNode(`This file was already uploaded on ${stamp}; nothing was stored twice. `),
        el("a", { href: `/upload?batch=${encodeURIComponent(result.data.id)}` }, "Open that upload"),
      );
      already.hidden = false;
    }
    showStart(result.data);
    pollBatch(result.data.id);
  });
}

// --- the review page: one text at a time, by keyboard ------------------------------------------
const LABEL_WORDS = { pitch_first: "pitch-first", needs_first: "needs-first", no_signal: "no signal" };
const KEYS = { "1": "pitch_first", "2": "needs_first", "3": "no_signal" };

function highlighted(text, evidence) {
  const out = document.createDocumentFragment();
  let pos = 0;
  [...(evidence || [])].sort((a, b) => a.start - b.start).forEach((e) => {
    if (e.start < pos || e.end > text.length) return;
    out.append(document.createTextNode(text.slice(pos, e.start)));
    out.append(el("mark", { class: "w3" }, text.slice(e.start, e.end)));
    pos = e.end;
  });
  out.append(document.createTextNode(text.slice(pos)));
  return out;
}

function initReviewPage() {
  const app = document.getElementById("review-app");
  if (!app) return;
  const team = app.dataset.team;
  const audit = app.dataset.kind === "audit";
  const state = { items: [], at: 0, done: [], busy: false };
  const counter = document.getElementById("review-counter");
  const status = document.getElementById("review-status");
  const trendBox = document.getElementById("review-trend");

  function showCounter() {
    const left = Math.max(state.items.length - state.at, 0);
    counter.textContent = `${state.done.length} done · ${left} to go`;
  }

  async function showTrend(item) {
    if (!trendBox || !item) return;
    const month = String(item.period_start || item.created_at).slice(0, 7);
    const result = await api("GET", `/v1/trends?team=${encodeURIComponent(team)}&period=month`);
    if (!result.ok) return;
    const point = result.data.points.find((p) => String(p.start).slice(0, 7) === month);
    if (!point) return;
    const how = point.adjustment === "ppi"
      ? `from ${point.audit_n} audit labels`
      : point.adjustment === "card" ? "from the model card (no audit labels yet)" : "not adjusted";
    const share = point.adjusted_share === null ? "–" : `${Math.round(point.adjusted_share * 100)}%`;
    trendBox.textContent = `Month of ${month}: adjusted needs-first share ${share}, ${how}.`;
    trendBox.dataset.adjustment = point.adjustment;
  }

  function show() {
    showCounter();
    const item = state.items[state.at];
    const box = document.getElementById("review-item");
    if (!item) {
      box.hidden = true;
      status.textContent = state.items.length ? "All labelled. Thank you." : "Nothing to label here.";
      return;
    }
    box.hidden = false;
    const when = String(item.created_at).slice(0, 10);
    document.getElementById("review-meta").textContent = `${when} · ${item.source ? item.source.replace("_", " ") : "no source"}`;
    const text = document.getElementById("review-text");
    text.replaceChildren(audit ? document.createTextNode(item.text) : highlighted(item.text, item.prediction.evidence));
    document.getElementById("review-model").textContent = audit
      ? ""
      : `Model: ${LABEL_WORDS[item.prediction.label]}, ${Math.round(item.prediction.confidence * 100)}% confident`;
    showTrend(item);
  }

  async function answer(label) {
    const item = state.items[state.at];
    if (!item || state.busy) return;
    state.busy = true;
    status.textContent = "Saving…";
    const result = await api("POST", `/v1/records/${item.id}/review`, { label, audit });
    state.busy = false;
    if (!result.ok) {
      status.textContent = "Not saved: " + problemText(result);
      return;
    }
    state.done.push({ at: state.at, label });
    state.at += 1;
    status.textContent = `Saved: ${LABEL_WORDS[label]}.`;
    show();
  }

  function skip() {
    if (state.at < state.items.length) state.at += 1;
    status.textContent = "Skipped.";
    show();
  }

  function undo() {
    if (!state.at) return;
    state.at -= 1;
    const last = state.done[state.done.length - 1];
    if (last && last.at === state.at) state.done.pop();
    status.textContent = "Back one: label it again (the new label replaces the old).";
    show();
  }

  app.querySelectorAll("button[data-label]").forEach((b) => b.addEventListener("click", () => answer(b.dataset.label)));
  app.querySelector("button[data-action=skip]").addEventListener("click", skip);
  app.querySelector("button[data-action=undo]").addEventListener("click", undo);
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    if (KEYS[event.key]) answer(KEYS[event.key]);
    else if (event.key === "s") skip();
    else if (event.key === "u") undo();
    else return;
    event.preventDefault();
  });

  (async () => {
    const url = audit
      ? `/v1/audit?team=${encodeURIComponent(team)}&period=month`
      : `/v1/review-queue?team=${encodeURIComponent(team)}&limit=50`;
    const result = await api("GET", url);
    if (!result.ok) {
      counter.textContent = "Could not load: " + problemText(result);
      return;
    }
    state.items = result.data.items;
    show();
  })();
}

// --- folding filters on phones, chart tooltips -------------------------------------------------
function initFolds() {
  // On a phone the count tables start folded (the chart and its tooltips come first).
  if (window.matchMedia("(max-width: 600px)").matches) {
    document.querySelectorAll("details.counts[open]").forEach((d) => (d.open = false));
  }
  document.querySelectorAll("button.fold-toggle").forEach((button) => {
    const target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) return;
    button.addEventListener("click", () => {
      const open = target.classList.toggle("open");
      button.setAttribute("aria-expanded", String(open));
    });
  });
}

function initTooltips() {
  const tip = el("div", { class: "tooltip", role: "tooltip", id: "chart-tip", hidden: "" });
  document.body.append(tip);
  const targets = document.querySelectorAll("svg [data-tip]");
  targets.forEach((node) => {
    // the styled tooltip replaces the browser's own (links keep their aria-label for screen readers)
    const title = node.querySelector(":scope > title");
    if (title) {
      if (!node.closest("a[aria-label]")) {
        node.setAttribute("role", "img");
        node.setAttribute("aria-label", title.textContent);
      }
      title.remove();
    }
    const show = () => {
      tip.textContent = node.getAttribute("data-tip");
      tip.hidden = false;
      const box = node.getBoundingClientRect();
      const width = Math.min(320, window.innerWidth - 16);
      tip.style.maxWidth = `${width}px`;
      const left = Math.max(8, Math.min(window.scrollX + box.left + box.width / 2 - width / 2, window.scrollX + window.innerWidth - width - 8));
      tip.style.left = `${left}px`;
      tip.style.top = `${window.scrollY + box.top - 8}px`;
      tip.style.transform = "translateY(-100%)";
    };
    const hide = () => (tip.hidden = true);
    node.addEventListener("pointerenter", show);
    node.addEventListener("pointerleave", hide);
    const focusable = node.closest("a") || node;
    focusable.addEventListener("focus", show);
    focusable.addEventListener("blur", hide);
  });
}

// --- scorecard -----------------------------------------------------------------------------
function initScorecard() {
  const form = document.getElementById("scorecard");
  if (!form) return;
  const habits = Array.from(form.querySelectorAll("fieldset.habit")).map((f) => f.id.replace("habit-", ""));
  const period = form.period_start;
  if (!period.value) {
    const now = new Date();
    period.value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-01`;
  }
  const totalBox = document.getElementById("sc-total");
  const update = () => {
    let total = 0;
    let scored = 0;
    habits.forEach((h) => {
      const checked = form.querySelector(`input[name="${h}"]:checked`);
      if (checked) {
        total += Number(checked.value);
        scored += 1;
      }
    });
    totalBox.textContent = `Total: ${total} of 28 (habits scored: ${scored} of ${habits.length})`;
  };
  form.addEventListener("change", update);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("sc-status");
    form.querySelectorAll(".field-error").forEach((p) => (p.textContent = ""));
    const scores = {};
    habits.forEach((h) => {
      const checked = form.querySelector(`input[name="${h}"]:checked`);
      if (checked) scores[h] = Number(checked.value);
    });
    const team = form.team.value;
    const body = { period_start: period.value, scores, note: form.note.value || null };
    status.textContent = "Saving…";
    const result = await api("POST", `/v1/teams/${encodeURIComponent(team)}/scorecards`, body);
    if (result.ok) {
      const card = result.data;
      status.replaceChildren(
        document.createTextNode(`Saved: ${card.total}/28, ${card.band.verdict} `),
        el("a", { href: `/teams/${encodeURIComponent(team)}#scorecards` }, "See it beside the trend"),
      );
      return;
    }
    const errors = (result.data && result.data.errors) || [];
    errors.forEach((e) => {
      const key = String(e.field || "").replace("scores.", "");
      const target = document.getElementById(`err-${key}`);
      if (target) target.textContent = e.message;
    });
    const marked = errors.filter((e) => document.getElementById(`err-${String(e.field || "").replace("scores.", "")}`));
    status.textContent =
      marked.length && marked.length === errors.length
        ? `Not saved: ${marked.length} habit(s) need attention; each is marked above.`
        : "Not saved: " + problemText(result);
    const first = errors.map((e) => document.getElementById(`habit-${String(e.field).replace("scores.", "")}`)).find(Boolean);
    if (first) first.querySelector("input").focus();
  });
}

// --- retrain, promote, roll back ------------------------------------------------------------
function initModels() {
  const form = document.getElementById("retrain");
  const versions = document.getElementById("versions");
  if (!form || !versions) return;
  const status = document.getElementById("retrain-status");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const teams = [...form.querySelectorAll("input[name=team]:checked")].map((box) => box.value);
    const body = {
      weights: { review: Number(form.review.value), audit: Number(form.audit.value) },
    };
    if (teams.length) body.teams = teams;
    status.textContent = "Starting…";
    const result = await api("POST", "/v1/models", body);
    if (!result.ok) {
      status.textContent = "Not started: " + problemText(result);
      return;
    }
    status.textContent = `Version ${result.data.version} queued; this page follows its progress.`;
    window.location.reload();
  });
  const done = { promote: "promoted", rollback: "rolled back", discard: "discarded" };
  versions.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-model-action]");
    if (!button) return;
    const action = button.dataset.modelAction;
    const version = button.dataset.version;
    const line = document.getElementById("model-status");
    button.disabled = true;
    const result = await api("POST", `/v1/models/${encodeURIComponent(version)}/${action}`);
    if (!result.ok) {
      line.textContent = `${version} not ${done[action]}: ` + problemText(result);
      button.disabled = false;
      return;
    }
    line.textContent = `${version} ${done[action]}.`;
    window.location.reload();
  });
  // while something trains or re-labels, follow it
  if (versions.dataset.active) window.setTimeout(() => window.location.reload(), 2000);
}

document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  initFolds();
  initTooltips();
  initSignIn();
  initSignOut();
  initReview();
  initUpload();
  initScorecard();
  initReviewPage();
  initModels();
});

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
        item.querySelector(".label-value").textContent = result.data.label.replace("_", "-");
        status.textContent = `Saved: now ${result.data.label.replace("_", "-")}. Trends include it on reload.`;
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
  const processed = batch.rows_stored + batch.rows_rejected + batch.rows_duplicate;
  if (batch.status === "done" || batch.status === "failed") {
    bar.max = 1;
    bar.value = 1;
  } else {
    bar.removeAttribute("value"); // indeterminate: the total is known only at the end
  }
  counts.textContent =
    `${processed} rows read: ${batch.rows_stored} stored, ${batch.rows_rejected} rejected, ` +
    `${batch.rows_duplicate} duplicates` + (batch.status === "failed" && batch.error ? `. Failed: ${batch.error}` : "") +
    (batch.status === "done" ? ". Done." : "");
  const box = document.getElementById("batch-errors");
  box.replaceChildren();
  const finished = batch.status === "done" || batch.status === "failed";
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

function initUpload() {
  const form = document.getElementById("upload");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = document.getElementById("progress-box");
    box.hidden = false;
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
    pollBatch(result.data.id);
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

document.addEventListener("DOMContentLoaded", () => {
  initSignIn();
  initSignOut();
  initReview();
  initUpload();
  initScorecard();
});

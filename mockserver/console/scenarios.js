// Scenarios: queue a forced 5xx, a failing or a stalling job; see and clear the queue.

import { useState } from "preact/hooks";
import { control } from "./api.js";
import { act, Empty, ErrorNote, html, usePoll } from "./ui.js";

async function loadScenarios() {
  const [queued, users] = await Promise.all([control("GET", "scenarios"), control("GET", "users")]);
  return { queued, users };
}

function ForcedError() {
  const [status, setStatus] = useState("503");
  const [count, setCount] = useState(1);
  const queue = (event) => {
    event.preventDefault();
    act("POST", "scenarios", { error: Number(status), count: Number(count) }, `${count} × ${status} queued`);
  };
  return html`<form class="card scenario" onSubmit=${queue} data-testid="queue-error">
    <h2>Forced server error</h2>
    <p class="muted">The next responses of the public API answer this status, whoever asks.</p>
    <div class="form-row">
      <label class="field field-inline"><span>Status</span>
        <select value=${status} onChange=${(e) => setStatus(e.target.value)} name="status">
          <option value="500">500 INTERNAL_ERROR</option>
          <option value="502">502 EXTERNAL_SERVICE_ERROR</option>
          <option value="503">503 EXTERNAL_SERVICE_ERROR</option>
        </select>
      </label>
      <label class="field field-inline"><span>Count</span>
        <input type="number" min="1" max="10000" value=${count} onInput=${(e) => setCount(e.target.value)} name="count" />
      </label>
      <button class="btn btn-primary" type="submit">Queue</button>
    </div>
  </form>`;
}

function JobScenario({ kind, users }) {
  const [page, setPage] = useState(2);
  const [count, setCount] = useState(1);
  const [user, setUser] = useState("");
  const [message, setMessage] = useState("");
  const failing = kind === "fail";
  const queue = (event) => {
    event.preventDefault();
    const body = { [failing ? "failAtPage" : "stallAtPage"]: Number(page), count: Number(count) };
    if (user) body.userId = user;
    if (failing && message) body.errorMessage = message;
    act("POST", "scenarios", body, `${count} ${failing ? "failing" : "stalling"} job(s) queued`);
  };
  return html`<form class="card scenario" onSubmit=${queue} data-testid=${`queue-${kind}`}>
    <h2>${failing ? "Failing job" : "Stalling job"}</h2>
    <p class="muted">${failing
      ? "The next created jobs end failed at this page (the cover is page 1); their credits come back."
      : "The next created jobs stay processing at this page forever."}</p>
    <div class="form-row">
      <label class="field field-inline"><span>At page</span>
        <input type="number" min="1" value=${page} onInput=${(e) => setPage(e.target.value)} name="page" />
      </label>
      <label class="field field-inline"><span>Count</span>
        <input type="number" min="1" max="10000" value=${count} onInput=${(e) => setCount(e.target.value)} name="count" />
      </label>
      <label class="field field-inline"><span>User</span>
        <select value=${user} onChange=${(e) => setUser(e.target.value)} name="user">
          <option value="">anyone's next create</option>
          ${users.map((u) => html`<option value=${u.userId}>${u.name} (${u.userId})</option>`)}
        </select>
      </label>
      ${failing && html`<label class="field field-inline field-grow"><span>Message</span>
        <input value=${message} onInput=${(e) => setMessage(e.target.value)} placeholder="Illustration generation failed on page N." name="message" />
      </label>`}
      <button class="btn btn-primary" type="submit">Queue</button>
    </div>
  </form>`;
}

function Queue({ queued }) {
  const jobs = Object.entries(queued.jobs);
  const empty = queued.errors.length === 0 && jobs.length === 0;
  return html`<section class="card" data-testid="scenario-queue">
    <header class="section-head">
      <h2>Queued</h2>
      <button class="btn btn-small btn-danger" disabled=${empty}
        onClick=${() => act("DELETE", "scenarios", undefined, "Scenario queue cleared")}>Clear all</button>
    </header>
    ${empty && html`<${Empty}>Nothing queued: every request is answered as usual.<//>`}
    ${queued.errors.length > 0 && html`<div class="queue-line">
      <strong>Next responses</strong>
      ${queued.errors.map((s, i) => html`<span key=${i} class="pill pill-failed">${s}</span>`)}
    </div>`}
    ${jobs.map(
      ([who, list]) => html`<div class="queue-line" key=${who}>
        <strong>${who === "*" ? "Anyone's next creates" : who}</strong>
        ${list.map(
          (job, i) => html`<span key=${i} class=${`pill ${job.failAtPage ? "pill-failed" : "pill-processing"}`}>
            ${job.failAtPage ? `fail at page ${job.failAtPage}` : `stall at page ${job.stallAtPage}`}
          </span>`,
        )}
      </div>`,
    )}
  </section>`;
}

export function Scenarios() {
  const [data, error] = usePoll(loadScenarios, 2000);
  if (!data) return html`<${ErrorNote} error=${error} />`;
  return html`<div class="scenarios">
    <${ErrorNote} error=${error} />
    <${Queue} queued=${data.queued} />
    <div class="scenario-grid">
      <${ForcedError} />
      <${JobScenario} kind="fail" users=${data.users} />
      <${JobScenario} kind="stall" users=${data.users} />
    </div>
    <p class="muted">One request only? Send it with the header <code>X-Mock-Scenario</code>:
      ${["error=503", "fail-at-page=3", "stall-at-page=2", "delay-ms=500"].map((v, i) => html`${i ? ", " : ""}<code>${v}</code>`)}
      (comma-separated to combine).</p>
  </div>`;
}

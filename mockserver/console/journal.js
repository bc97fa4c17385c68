// Journal: a live tail of what clients sent and what the mock answered. Click an exchange to
// see request and answer side by side; a refusal says which check answered and when it resets.

import { useEffect, useRef, useState } from "preact/hooks";
import { control } from "./api.js";
import { act, clockTime, Empty, ErrorNote, html, httpClass, StatusPill } from "./ui.js";

const KEEP = 500; // rows the page holds; the mock keeps its own --journal-size
const FILTERS = ["user", "method", "path", "status", "code"];

function query(filters, extra) {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (filters[name]) params.set(name, filters[name]);
  for (const [name, value] of Object.entries(extra)) params.set(name, value);
  return `requests?${params}`;
}

// The newest records first. While live, asks only for records numbered after the newest one
// seen; starts over when the journal was reset or cleared (its newest number went down or away).
function useTail(filters, live) {
  const [state, setState] = useState({ records: [], error: null });
  const restart = useRef(() => {});
  useEffect(() => {
    let stopped = false;
    let busy = false;
    let held = [];
    let newest = null;
    const tick = async () => {
      if (busy || stopped) return;
      busy = true;
      try {
        const [latest] = await control("GET", "requests?limit=1");
        if (newest !== null && (latest === undefined ? held.length > 0 : latest.seq < newest)) {
          held = [];
          newest = null;
        }
        const since = newest === null ? { limit: 200 } : { after: newest, limit: KEEP };
        const fresh = await control("GET", query(filters, since));
        held = [...fresh, ...held].slice(0, KEEP);
        newest = Math.max(newest ?? 0, latest ? latest.seq : 0, fresh.length ? fresh[0].seq : 0);
        if (!stopped) setState({ records: held, error: null });
      } catch (error) {
        if (!stopped) setState((s) => ({ records: s.records, error }));
      } finally {
        busy = false;
      }
    };
    restart.current = () => {
      held = [];
      newest = null;
      tick();
    };
    tick();
    const timer = setInterval(() => live && !document.hidden && tick(), 1000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [JSON.stringify(filters), live]);
  return [state.records, state.error, () => restart.current()];
}

function Filters({ filters, setFilters, users }) {
  const field = (name) => (event) => setFilters({ ...filters, [name]: event.target.value.trim() });
  return html`<div class="filters" data-testid="journal-filters">
    <select value=${filters.user} onChange=${field("user")} aria-label="User" name="user">
      <option value="">every user</option>
      ${users.map((u) => html`<option value=${u.userId}>${u.name}</option>`)}
    </select>
    <select value=${filters.method} onChange=${field("method")} aria-label="Method" name="method">
      <option value="">any method</option><option>GET</option><option>POST</option>
    </select>
    <input value=${filters.path} onChange=${field("path")} placeholder="path, e.g. /v1/stories/*" aria-label="Path" name="path" />
    <input value=${filters.status} onChange=${field("status")} placeholder="status: 429, 4xx" aria-label="Status" name="status" class="narrow" />
    <input value=${filters.code} onChange=${field("code")} placeholder="error code" aria-label="Code" name="code" />
  </div>`;
}

function Row({ record, selected, onSelect }) {
  return html`<tr class=${selected ? "selected" : ""} onClick=${() => onSelect(record.seq)}
    data-seq=${record.seq} data-status=${record.status}>
    <td class="num muted">${clockTime(record.arrivedAt)}</td>
    <td><span class=${`method method-${record.method}`}>${record.method}</span></td>
    <td class="mono path">${record.path}${record.query ? html`<span class="muted">?${record.query}</span>` : ""}</td>
    <td><${StatusPill} status=${httpClass(record.status)} label=${String(record.status)} /></td>
    <td class="mono small">${record.code || ""}</td>
    <td class="small">${record.check || ""}</td>
    <td class="mono small muted">${record.userId || "—"}</td>
    <td class="num muted">${record.durationMs.toFixed(1)} ms</td>
  </tr>`;
}

function pretty(body) {
  if (body === null) return null;
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

function Headers({ headers }) {
  return html`<table class="headers">
    ${headers.map(([name, value], i) => html`<tr key=${i}><th>${name}</th><td class="mono">${value}</td></tr>`)}
  </table>`;
}

function Body({ part }) {
  if (part.body === null) {
    return html`<div class="muted small">${part.bodyBytes ? `${part.bodyBytes} bytes, not text` : "no body"}</div>`;
  }
  return html`<pre class="body">${pretty(part.body)}</pre>
    ${part.bodyTruncated && html`<div class="muted small">cut at 4 KB of ${part.bodyBytes} bytes</div>`}`;
}

// Which check refused the request and when trying again can work.
function Verdict({ record }) {
  if (record.status < 400) return null;
  const resets = record.resetsAt && html`<div data-testid="verdict-reset">
    Resets at <b class="num">${record.resetsAt}</b> on the mock's clock (retry-after ${record.retryAfter} s).
  </div>`;
  return html`<div class=${`verdict verdict-${httpClass(record.status)}`} data-testid="verdict">
    <div>Answered by the <b data-testid="verdict-check">${record.check}</b> check: ${" "}
      <span class="mono">${record.code}</span> — ${record.message}</div>
    ${resets}
    ${record.rateLimit && html`<div class="muted">Window: ${record.rateLimit.remaining} of ${record.rateLimit.limit} left, resets in ${record.rateLimit.reset} s.</div>`}
  </div>`;
}

function Exchange({ record, onClose }) {
  const query = record.query ? `?${record.query}` : "";
  return html`<div class="drawer-backdrop" onClick=${onClose}>
  <section class="drawer drawer-wide exchange" data-testid="exchange" role="dialog" onClick=${(e) => e.stopPropagation()}>
    <header class="section-head">
      <h2><span class=${`method method-${record.method}`}>${record.method}</span> <span class="mono">${record.path}${query}</span></h2>
      <button class="btn btn-ghost" onClick=${onClose} aria-label="Close">✕</button>
    </header>
    <div class="exchange-facts muted small">
      <span>#${record.seq}</span><span class="mono">${record.requestId}</span>
      <span>arrived ${record.arrivedAt}</span><span>answered ${record.answeredAt}</span>
      <span>${record.durationMs} ms</span>
      ${record.keyId && html`<span>key <span class="mono">${record.keyId}</span></span>`}
      ${record.idempotencyKey && html`<span>Idempotency-Key <span class="mono">${record.idempotencyKey}</span>${record.idempotentReplayed ? " (replayed)" : ""}</span>`}
    </div>
    <${Verdict} record=${record} />
    <div class="side-by-side">
      <div class="half" data-testid="exchange-request">
        <h3>Request</h3>
        <${Headers} headers=${record.request.headers} />
        <${Body} part=${record.request} />
      </div>
      <div class="half" data-testid="exchange-response">
        <h3>Answer <${StatusPill} status=${httpClass(record.status)} label=${String(record.status)} /></h3>
        <${Headers} headers=${Object.entries(record.response.headers)} />
        <${Body} part=${record.response} />
      </div>
    </div>
  </section>
  </div>`;
}

export function Journal() {
  const [filters, setFilters] = useState({ user: "", method: "", path: "", status: "", code: "" });
  const [live, setLive] = useState(true);
  const [selected, setSelected] = useState(null);
  const [users, setUsers] = useState([]);
  const [records, error, restart] = useTail(filters, live);
  useEffect(() => {
    control("GET", "users").then(setUsers, () => {});
  }, []);
  const chosen = records.find((r) => r.seq === selected);
  return html`<div class="journal">
    <div class="toolbar">
      <${Filters} filters=${filters} setFilters=${setFilters} users=${users} />
      <div class="toolbar-end">
        <button class=${live ? "btn btn-small live on" : "btn btn-small live"} onClick=${() => setLive(!live)}>
          ${live ? "● Live" : "❚❚ Paused"}
        </button>
        <button class="btn btn-small btn-danger" onClick=${() => act("DELETE", "requests", undefined, "Journal cleared").then(restart)}>Clear journal</button>
      </div>
    </div>
    <${ErrorNote} error=${error} />
    ${chosen && html`<${Exchange} record=${chosen} onClose=${() => setSelected(null)} />`}
    ${records.length === 0
      ? html`<${Empty}>No exchanges yet. Requests to the public API appear here as they are answered.<//>`
      : html`<div class="table-wrap"><table class="journal-table">
          <thead><tr><th>Arrived</th><th>Method</th><th>Path</th><th>Status</th><th>Code</th><th>Check</th><th>User</th><th>Took</th></tr></thead>
          <tbody>${records.map((r) => html`<${Row} key=${r.seq} record=${r} selected=${r.seq === selected} onSelect=${setSelected} />`)}</tbody>
        </table></div>`}
  </div>`;
}

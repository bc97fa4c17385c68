// Users and keys: create users, issue, rotate, revoke, suspend keys, change plans.

import { useState } from "preact/hooks";
import { control } from "./api.js";
import { act, CopyButton, ErrorNote, html, StatusPill, usePoll } from "./ui.js";

async function loadUsers() {
  const [users, plans] = await Promise.all([control("GET", "users"), control("GET", "plans")]);
  return { users, plans };
}

function keyState(key) {
  if (key.revoked) return "revoked";
  if (key.suspended) return "suspended";
  return "active";
}

// A key exists in plain text only in the answer that issued it: shown here once.
function IssuedKey({ issued, onDismiss }) {
  return html`<div class="issued" data-testid="issued-key" data-key-id=${issued.keyId}>
    <div>
      <strong>New key <span class="mono">${issued.keyId}</span> for ${issued.userId}</strong>
      <span class="muted"> — shown once; the mock keeps only its SHA-256 digest.</span>
    </div>
    <div class="issued-row">
      <code class="secret" data-testid="issued-api-key">${issued.apiKey}</code>
      <${CopyButton} text=${issued.apiKey} />
      <button class="btn btn-ghost btn-small" onClick=${onDismiss}>Done</button>
    </div>
  </div>`;
}

function CreateUser({ plans, onIssued }) {
  const [plan, setPlan] = useState("pro");
  const [name, setName] = useState("");
  const create = async (event) => {
    event.preventDefault();
    const body = name ? { plan, name } : { plan };
    const issued = await act("POST", "users", body, (u) => `User ${u.userId} created`);
    if (issued) {
      onIssued(issued);
      setName("");
    }
  };
  return html`<form class="card form-row" onSubmit=${create} data-testid="create-user">
    <strong>New user</strong>
    <label class="field field-inline"><span>Plan</span>
      <select value=${plan} onChange=${(e) => setPlan(e.target.value)} name="plan">
        ${Object.keys(plans).map((p) => html`<option value=${p}>${p}</option>`)}
      </select>
    </label>
    <label class="field field-inline"><span>Name</span>
      <input value=${name} onInput=${(e) => setName(e.target.value)} placeholder="optional" name="name" />
    </label>
    <button class="btn btn-primary" type="submit">Create user</button>
  </form>`;
}

function PlanSelect({ user, plans }) {
  const change = async (event) => {
    const plan = event.target.value;
    if (!plans[plan].apiAccess) {
      const ok = confirm(`Downgrade ${user.name} to ${plan}? As on the real product, this revokes every key of the user at once.`);
      if (!ok) {
        event.target.value = user.plan;
        return;
      }
    }
    await act("PATCH", `users/${user.userId}`, { plan }, `${user.name} is now on ${plan}`);
  };
  return html`<select class="plan-select" value=${user.plan} onChange=${change} aria-label="Plan">
    ${Object.keys(plans).map((p) => html`<option value=${p}>${p}</option>`)}
  </select>`;
}

function KeyRow({ keyRecord, onIssued }) {
  const state = keyState(keyRecord);
  const run = (action, message) =>
    act("POST", `keys/${keyRecord.keyId}/${action}`, undefined, message).then((answer) => {
      if (answer && answer.apiKey) onIssued(answer);
    });
  return html`<li class="key-row" data-key=${keyRecord.keyId} data-state=${state}>
    <span class="mono">${keyRecord.keyId}</span>
    <${StatusPill} status=${state} />
    <span class="key-actions">
      ${state !== "revoked" && html`
        <button class="btn btn-small" data-action="rotate" onClick=${() => run("rotate", "Key rotated: the old one is refused from now on")}>Rotate</button>
        ${state === "suspended"
          ? html`<button class="btn btn-small" data-action="unsuspend" onClick=${() => run("unsuspend", "Key unsuspended")}>Unsuspend</button>`
          : html`<button class="btn btn-small" data-action="suspend" onClick=${() => run("suspend", "Key suspended (403 FORBIDDEN)")}>Suspend</button>`}
        <button class="btn btn-small btn-danger" data-action="revoke" onClick=${() => run("revoke", "Key revoked")}>Revoke</button>`}
    </span>
  </li>`;
}

function UserCard({ user, plans, onIssued }) {
  const apiAccess = plans[user.plan] && plans[user.plan].apiAccess;
  const issue = async () => {
    const issued = await act("POST", `users/${user.userId}/keys`, undefined, "Key issued");
    if (issued) onIssued(issued);
  };
  return html`<article class="card user-card" data-user=${user.userId}>
    <header class="user-head">
      <div>
        <h2>${user.name}</h2>
        <div class="muted mono">${user.userId} · ${user.books.length} books</div>
        ${!apiAccess && html`<div class="note-warn">The ${user.plan} plan has no API access: its keys are answered 403 PLAN_REQUIRED.</div>`}
      </div>
      <div class="user-controls">
        <${PlanSelect} user=${user} plans=${plans} />
        <button class="btn btn-small" data-action="issue" onClick=${issue} disabled=${!apiAccess}
          title=${apiAccess ? "POST /_mock/users/{id}/keys" : "Free plans cannot issue API keys"}>Issue key</button>
      </div>
    </header>
    <ul class="keys">
      ${user.keys.map((k) => html`<${KeyRow} key=${k.keyId} keyRecord=${k} onIssued=${onIssued} />`)}
    </ul>
  </article>`;
}

export function Users() {
  const [data, error] = usePoll(loadUsers, 2000);
  const [issued, setIssued] = useState(null);
  if (!data) return html`<${ErrorNote} error=${error} />`;
  return html`<div>
    <${ErrorNote} error=${error} />
    <${CreateUser} plans=${data.plans} onIssued=${setIssued} />
    ${issued && html`<${IssuedKey} issued=${issued} onDismiss=${() => setIssued(null)} />`}
    <div class="user-grid">
      ${data.users.map((u) => html`<${UserCard} key=${u.userId} user=${u} plans=${data.plans} onIssued=${setIssued} />`)}
    </div>
  </div>`;
}

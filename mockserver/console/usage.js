// Usage: each user's limits as of now on the mock's clock, as GET /_mock/users/{id}/usage says.

import { control } from "./api.js";
import { duration, ErrorNote, html, Meter, usePoll } from "./ui.js";

async function loadUsage() {
  const users = await control("GET", "users");
  const usage = await Promise.all(users.map((u) => control("GET", `users/${u.userId}/usage`)));
  return users.map((user, i) => ({ user, usage: usage[i] }));
}

function UsageCard({ user, usage }) {
  const used = usage.requestsPerMinute - usage.requestsRemaining;
  return html`<article class="card usage-card" data-user=${user.userId}>
    <header class="user-head">
      <div><h2>${user.name}</h2><div class="muted mono">${user.userId}</div></div>
      <span class="plan-badge">${user.plan}</span>
    </header>
    <${Meter} id="meter-requests" label="Requests this minute" used=${used} max=${usage.requestsPerMinute}
      left=${`${usage.requestsRemaining} of ${usage.requestsPerMinute} left`}
      note=${`window resets in ${duration(usage.windowResetSeconds)}`} />
    <${Meter} id="meter-books" label="Books today" used=${usage.booksToday} max=${usage.booksPerDay}
      note="the cap resets at 00:00 UTC" />
    <${Meter} id="meter-credits" label="Credits this month" used=${usage.creditsUsed} max=${usage.monthlyCredits}
      note=${`${usage.creditsRemaining} remaining · shared with dashboard books`} />
  </article>`;
}

export function Usage() {
  const [rows, error] = usePoll(loadUsage, 1000);
  if (!rows) return html`<${ErrorNote} error=${error} />`;
  return html`<div>
    <${ErrorNote} error=${error} />
    <p class="lead">Reading usage counts no request. Windows, days and months follow the mock's clock.</p>
    <div class="user-grid">
      ${rows.map(({ user, usage }) => html`<${UsageCard} key=${user.userId} user=${user} usage=${usage} />`)}
    </div>
  </div>`;
}

// Clock: the mock's time and mode; move it forward by a step or to an instant.

import { useState } from "preact/hooks";
import { control } from "./api.js";
import { act, clockDay, clockTime, ErrorNote, html, usePoll } from "./ui.js";

const STEPS = [
  { label: "+1 s", seconds: 1 },
  { label: "+1 min", seconds: 60 },
  { label: "+1 h", seconds: 3600 },
  { label: "+1 day", seconds: 86400 },
];

export function Clock() {
  const [clock, error] = usePoll(() => control("GET", "clock"), 1000);
  const [when, setWhen] = useState("");
  if (!clock) return html`<${ErrorNote} error=${error} />`;
  const shown = when || clock.now.slice(0, 19);
  const set = (event) => {
    event.preventDefault();
    const instant = shown.length === 16 ? `${shown}:00Z` : `${shown}Z`; // the field holds UTC
    act("POST", "clock/set", { now: instant }, (c) => `Clock set to ${c.now}`);
  };
  return html`<div class="clock-page">
    <${ErrorNote} error=${error} />
    <section class="card clock-card">
      <div class="clock-mode">
        <span class=${`dot dot-${clock.mode}`}></span>
        <span data-testid="clock-mode">${clock.mode}</span>
        <span class="muted">${clock.mode === "manual" ? "time stands still until moved" : "wall time plus every advance"}</span>
      </div>
      <div class="clock-face num" data-testid="clock-face">${clockTime(clock.now)}</div>
      <div class="clock-day num">${clockDay(clock.now)} UTC</div>
      <div class="clock-steps">
        ${STEPS.map(
          (step) => html`<button class="btn btn-large" data-advance=${step.seconds}
            onClick=${() => act("POST", "clock/advance", { seconds: step.seconds }, (c) => `Now ${c.now}`)}>${step.label}</button>`,
        )}
      </div>
    </section>
    <form class="card form-row" onSubmit=${set}>
      <strong>Jump to</strong>
      <label class="field field-inline"><span>UTC</span>
        <input type="datetime-local" step="1" value=${shown} onInput=${(e) => setWhen(e.target.value)} required name="when" />
      </label>
      <button class="btn btn-primary" type="submit">Set clock</button>
      <span class="muted">Time only moves forward: jobs, rate-limit windows, UTC days and idempotency lifetimes follow.</span>
    </form>
  </div>`;
}

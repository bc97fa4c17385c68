// The console's shell: sign-in with the admin token, navigation, the clock in the top bar.

import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { control, health, signIn, signOut, token } from "./api.js";
import { Clock } from "./clock.js";
import { Journal } from "./journal.js";
import { Library } from "./library.js";
import { Scenarios } from "./scenarios.js";
import { html, clockDay, clockTime, Toasts, usePoll } from "./ui.js";
import { Usage } from "./usage.js";
import { Users } from "./users.js";

const SECTIONS = [
  { id: "library", label: "Library", view: Library, hint: "Books as users see them" },
  { id: "users", label: "Users & keys", view: Users, hint: "Plans, keys, rotation" },
  { id: "usage", label: "Usage", view: Usage, hint: "Limits as of now" },
  { id: "clock", label: "Clock", view: Clock, hint: "Move time" },
  { id: "scenarios", label: "Scenarios", view: Scenarios, hint: "Failures on demand" },
  { id: "journal", label: "Journal", view: Journal, hint: "What clients sent" },
];

function useSection() {
  const read = () => {
    const id = location.hash.replace(/^#\/?/, "");
    return SECTIONS.find((s) => s.id === id) || SECTIONS[0];
  };
  const [section, setSection] = useState(read);
  useEffect(() => {
    const follow = () => setSection(read());
    addEventListener("hashchange", follow);
    return () => removeEventListener("hashchange", follow);
  }, []);
  return section;
}

function SignIn({ info, onSignedIn }) {
  const [value, setValue] = useState("");
  const [problem, setProblem] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    try {
      await control("GET", "clock", undefined, value);
      signIn(value);
      onSignedIn();
    } catch (error) {
      setProblem(error.status === 401 ? "That is not the admin token of this mock." : error.message);
    }
  };
  return html`<div class="signin">
    <form class="card signin-card" onSubmit=${submit}>
      <div class="brand brand-large"><img src="./icon.svg" alt="" /><span>ChildrenBooks mock</span></div>
      <p class="muted">The console drives the mock through its control API. Enter the admin
        token once; it stays in this tab's session storage and is sent as <code>${info.adminHeader}</code>.</p>
      <label class="field">
        <span>Admin token</span>
        <input id="admin-token" type="password" autocomplete="off" value=${value}
          onInput=${(e) => setValue(e.target.value)} placeholder="cbk-mock serve prints it" autofocus />
      </label>
      ${problem && html`<div class="banner banner-error">${problem}</div>`}
      <button class="btn btn-primary" type="submit">Open the console</button>
    </form>
  </div>`;
}

function ClockPill() {
  const [clock] = usePoll(() => control("GET", "clock"), 1000);
  if (!clock) return null;
  return html`<a class="clock-pill" href="#/clock" title="The mock's clock">
    <span class=${`dot dot-${clock.mode}`}></span>
    <span class="num" data-testid="clock-now">${clockDay(clock.now)} ${clockTime(clock.now)}</span>
    <span class="muted">${clock.mode}</span>
  </a>`;
}

function Console({ info, onSignOut }) {
  const section = useSection();
  const View = section.view;
  return html`<div class="shell">
    <aside class="sidebar">
      <div class="brand"><img src="./icon.svg" alt="" /><span>ChildrenBooks <b>mock</b></span></div>
      <nav>
        ${SECTIONS.map(
          (s) => html`<a href=${`#/${s.id}`} class=${s === section ? "nav-item active" : "nav-item"}
            data-section=${s.id}>
            <span>${s.label}</span><small>${s.hint}</small>
          </a>`,
        )}
      </nav>
      <div class="sidebar-foot">
        <div class="muted">state: ${info.db}${info.db !== info.cache ? ` + ${info.cache}` : ""}</div>
        <div class="muted">journal: ${info.journalSize} exchanges</div>
        <button class="btn btn-ghost btn-small" onClick=${onSignOut}>Sign out</button>
      </div>
    </aside>
    <main class="main">
      <header class="topbar">
        <h1>${section.label}</h1>
        <${ClockPill} />
      </header>
      <div class="content"><${View} /></div>
    </main>
    <${Toasts} />
  </div>`;
}

function App() {
  const [info, setInfo] = useState(null);
  const [signedIn, setSignedIn] = useState(Boolean(token()));
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    health().then(setInfo, (error) => setProblem(error.message));
  }, []);
  if (problem) return html`<div class="banner banner-error">The mock does not answer: ${problem}</div>`;
  if (!info) return html`<p class="boot">Connecting…</p>`;
  if (!signedIn) return html`<${SignIn} info=${info} onSignedIn=${() => setSignedIn(true)} />`;
  const leave = () => {
    signOut();
    setSignedIn(false);
  };
  return html`<${Console} info=${info} onSignOut=${leave} />`;
}

render(html`<${App} />`, document.getElementById("app"));

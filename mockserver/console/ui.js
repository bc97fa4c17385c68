// Shared pieces of the console: the template tag, polling, toasts and small components.

import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";
import { changed, control, onChange } from "./api.js";

export const html = htm.bind(h);

// Load now, then every `ms` while the tab is visible, and at once after any change made in the
// console. One load at a time; an answer that arrives after a newer one is dropped.
export function usePoll(load, ms, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  const busy = useRef(false);
  const generation = useRef(0);
  const refresh = useCallback(async () => {
    if (busy.current) return;
    busy.current = true;
    const mine = ++generation.current;
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error }));
    } finally {
      busy.current = false;
    }
  }, deps);
  useEffect(() => {
    refresh();
    const timer = setInterval(() => document.hidden || refresh(), ms);
    const unsubscribe = onChange(() => setTimeout(refresh, 0));
    return () => {
      clearInterval(timer);
      unsubscribe();
      generation.current++;
    };
  }, [refresh, ms]);
  return [state.data, state.error, refresh];
}

// --- toasts --------------------------------------------------------------------------------
const toastListeners = new Set();
let toastId = 0;

export function toast(message, kind = "ok") {
  const item = { id: ++toastId, message, kind };
  for (const listener of toastListeners) listener(item);
}

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    const add = (item) => {
      setItems((all) => [...all.slice(-3), item]);
      setTimeout(() => setItems((all) => all.filter((i) => i.id !== item.id)), 4500);
    };
    toastListeners.add(add);
    return () => toastListeners.delete(add);
  }, []);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${items.map((t) => html`<div key=${t.id} class=${`toast toast-${t.kind}`}>${t.message}</div>`)}
  </div>`;
}

// A control call made by a button: the result is announced, every view refreshed.
export async function act(method, path, body, success) {
  try {
    const data = await control(method, path, body);
    if (success) toast(typeof success === "function" ? success(data) : success);
    changed();
    return data;
  } catch (error) {
    toast(`${error.code || "Error"}: ${error.message}`, "error");
    return null;
  }
}

// --- small components ----------------------------------------------------------------------
export function StatusPill({ status, label }) {
  return html`<span class=${`pill pill-${status}`} data-status=${status}>${label || status}</span>`;
}

export function httpClass(status) {
  if (status >= 500) return "failed";
  if (status === 429) return "limited";
  if (status >= 400) return "refused";
  if (status >= 300) return "unknown";
  return "completed";
}

// `used` of `max` as a bar: green while there is room, amber past 75 %, red when spent.
export function Meter({ id, label, used, max, note, left }) {
  const fraction = max > 0 ? Math.min(1, used / max) : 0;
  const tone = max === 0 ? "none" : fraction >= 1 ? "spent" : fraction >= 0.75 ? "low" : "ok";
  return html`<div class="meter" data-testid=${id} data-used=${used} data-max=${max}>
    <div class="meter-head">
      <span class="meter-label">${label}</span>
      <span class="meter-value num">${left ?? `${used} / ${max}`}</span>
    </div>
    <div class="meter-track"><div class=${`meter-fill meter-${tone}`} style=${`width:${fraction * 100}%`}></div></div>
    <div class="meter-note">${max === 0 ? "not in this plan" : note}</div>
  </div>`;
}

export function CopyButton({ text, label = "Copy" }) {
  const [done, setDone] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setDone(true);
      setTimeout(() => setDone(false), 1500);
    } catch {
      toast("Copy failed: select the key and copy it by hand.", "error");
    }
  };
  return html`<button class="btn btn-small" onClick=${copy}>${done ? "Copied ✓" : label}</button>`;
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<div class="banner banner-error">Could not load: ${error.message}</div>`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

// --- time on the mock's clock --------------------------------------------------------------
export const clockTime = (iso) => (iso ? iso.slice(11, 23) : "—");
export const clockDay = (iso) => (iso ? iso.slice(0, 10) : "—");

// Seconds as a person reads them: "45 s", "60 s", "2 min 5 s", "3 h 10 min", "2 d 1 h".
export function duration(seconds) {
  const parts = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);
  if (seconds <= 60) return `${seconds} s`;
  if (seconds < 3600) return parts(Math.floor(seconds / 60), "min", seconds % 60, "s");
  if (seconds < 86400) return parts(Math.floor(seconds / 3600), "h", Math.floor((seconds % 3600) / 60), "min");
  return parts(Math.floor(seconds / 86400), "d", Math.floor((seconds % 86400) / 3600), "h");
}

export function userLabel(user) {
  return user.name && user.name !== user.plan ? `${user.name}` : user.userId;
}

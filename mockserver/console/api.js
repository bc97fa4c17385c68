// The console's only way to the mock: the control API under /_mock/, with the admin token.
// Every read and every change goes through it, so the console can do nothing a test cannot.

const TOKEN_KEY = "cbk-mock-admin-token";
// The control API is the folder above the console's (/_mock/ui/ → /_mock/).
const BASE = new URL("..", document.baseURI);
let adminHeader = null;
const listeners = new Set();

export class ControlError extends Error {
  constructor(status, code, message, fields) {
    super(`${code}: ${message}`);
    this.status = status;
    this.code = code;
    this.fields = fields || {};
  }
}

export const token = () => sessionStorage.getItem(TOKEN_KEY);

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// Health needs no token; it names the header the token goes in.
export async function health() {
  const reply = await fetch(new URL("health", BASE));
  const data = (await reply.json()).data;
  adminHeader = data.adminHeader;
  return data;
}

export async function control(method, path, body, tokenValue = token()) {
  const headers = { [adminHeader]: tokenValue || "" };
  if (body !== undefined) headers["content-type"] = "application/json";
  const reply = await fetch(new URL(path, BASE), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const payload = await reply.json().catch(() => null);
  if (payload && payload.ok) return payload.data;
  const error = (payload && payload.error) || {};
  throw new ControlError(reply.status, error.code || "UNKNOWN", error.message || reply.statusText, error.fields);
}

// A change made from any view tells every polling view to look again at once.
export function changed() {
  for (const listener of listeners) listener();
}

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// Illustrations through the console's own copy of /assets/ (/_mock/ui/assets/): the page's image
// loads are not a client's traffic and stay out of the journal. (The URLs the API gives name the
// address the mock listens on, perhaps not the one the page was opened at: the path is enough.)
export function assetUrl(url) {
  if (!url) return null;
  const path = new URL(url, BASE).pathname;
  return path.startsWith("/assets/") ? new URL(`ui${path}`, BASE).pathname : path;
}

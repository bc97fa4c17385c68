// Library: every user's books as cards, API- and dashboard-made, moving as their jobs move.

import { useState } from "preact/hooks";
import { control, assetUrl } from "./api.js";
import { act, Empty, ErrorNote, html, StatusPill, usePoll } from "./ui.js";

async function loadLibraries() {
  const users = await control("GET", "users");
  const books = await Promise.all(users.map((u) => control("GET", `users/${u.userId}/books?limit=48`)));
  return users.map((user, i) => ({ user, books: books[i] }));
}

function Cover({ book, large }) {
  const src = assetUrl(book.coverImage);
  if (src) return html`<img class=${large ? "cover cover-large" : "cover"} src=${src} alt="Cover" />`;
  return html`<div class=${`cover cover-empty cover-${book.status}`}>
    <span>${book.status === "pending" ? "Queued" : book.status === "failed" ? "No cover" : "Drawing…"}</span>
  </div>`;
}

function Progress({ value, status }) {
  return html`<div class="progress" role="progressbar" aria-valuenow=${value} aria-valuemin="0" aria-valuemax="100">
    <div class=${`progress-fill progress-${status}`} style=${`width:${value}%`}></div>
  </div>`;
}

function BookCard({ book, onOpen }) {
  return html`<button class="book-card" data-book=${book.id} data-status=${book.status} onClick=${() => onOpen(book.id)}>
    <${Cover} book=${book} />
    <div class="book-body">
      <div class="book-title">${book.title || book.storyIdea || "Untitled"}</div>
      <div class="book-meta">
        <${StatusPill} status=${book.status} />
        <span class=${`source source-${book.source}`} title=${book.source === "api" ? "Made through the API" : "Made on the dashboard"}>${book.source}</span>
        <span class="muted num">${book.pageCount ?? "?"} pages</span>
      </div>
      <${Progress} value=${book.progress} status=${book.status} />
    </div>
  </button>`;
}

function BookDetail({ book, onClose }) {
  return html`<div class="drawer-backdrop" onClick=${onClose}>
    <section class="drawer" role="dialog" aria-label=${book.title || "Book"} onClick=${(e) => e.stopPropagation()}>
      <header class="drawer-head">
        <div>
          <h2>${book.title || "Not titled yet"}</h2>
          <div class="book-meta">
            <${StatusPill} status=${book.status} />
            <span class=${`source source-${book.source}`}>${book.source}</span>
            <span class="muted num">${book.progress} %</span>
          </div>
        </div>
        <button class="btn btn-ghost" onClick=${onClose} aria-label="Close">✕</button>
      </header>
      <div class="detail-top">
        <${Cover} book=${book} large />
        <dl class="facts">
          <dt>Book</dt><dd class="mono">${book.id}</dd>
          <dt>Idea</dt><dd>${book.storyIdea || "—"}</dd>
          <dt>For</dt><dd>${[book.ageRange, book.style, book.tone, book.language].filter(Boolean).join(" · ") || "—"}</dd>
          <dt>Created</dt><dd class="num">${book.createdAt}</dd>
          <dt>Completed</dt><dd class="num">${book.completedAt || "—"}</dd>
          ${book.summary && html`<dt>Summary</dt><dd>${book.summary}</dd>`}
          ${book.errorMessage && html`<dt>Error</dt><dd class="text-error">${book.errorMessage}</dd>`}
        </dl>
      </div>
      <h3>Pages <span class="muted">(${book.pages.length} of ${Math.max(0, (book.pageCount || 1) - 1)})</span></h3>
      ${book.pages.length === 0 && html`<${Empty}>No pages yet: they appear as the job moves (advance the clock).<//>`}
      <ol class="pages">
        ${book.pages.map(
          (page) => html`<li class="page" key=${page.index}>
            <img src=${assetUrl(page.imageUrl)} alt=${`Page ${page.index + 1}`} />
            <div><div class="page-number">Page ${page.index + 1}</div><p>${page.content}</p></div>
          </li>`,
        )}
      </ol>
    </section>
  </div>`;
}

function AddBook({ user }) {
  return html`<button class="btn btn-small" title="POST /_mock/users/{id}/books: a completed book made on the dashboard"
    onClick=${() => act("POST", `users/${user.userId}/books`, {}, "Dashboard book added")}>+ Dashboard book</button>`;
}

function LibraryHead({ user, count }) {
  return html`<header class="section-head">
    <h2>${user.name} <span class="plan-badge">${user.plan}</span>
      <span class="muted mono small">${user.userId} · ${count} ${count === 1 ? "book" : "books"}</span></h2>
    <${AddBook} user=${user} />
  </header>`;
}

export function Library() {
  const [libraries, error] = usePoll(loadLibraries, 1500);
  const [open, setOpen] = useState(null);
  if (!libraries) return html`<${ErrorNote} error=${error} />`;
  const all = libraries.flatMap((l) => l.books);
  const opened = all.find((b) => b.id === open);
  const running = all.filter((b) => b.status === "pending" || b.status === "processing").length;
  return html`<div>
    <${ErrorNote} error=${error} />
    <p class="lead">${all.length} books, ${running} being made. Books appear here as clients create them and
      move as the clock does.</p>
    ${all.length === 0 && html`<${Empty}>No books yet: create one through the API (POST /v1/stories), or add a dashboard book below.<//>`}
    ${libraries.filter((l) => l.books.length).map(
      ({ user, books }) => html`<section class="library" key=${user.userId} data-user=${user.userId}>
        <${LibraryHead} user=${user} count=${books.length} />
        <div class="book-grid">${books.map((b) => html`<${BookCard} key=${b.id} book=${b} onOpen=${setOpen} />`)}</div>
      </section>`,
    )}
    <section class="library-empty">
      <h3>No books yet</h3>
      ${libraries.filter((l) => !l.books.length).map(
        ({ user }) => html`<div class="library-empty-row" key=${user.userId} data-user=${user.userId}>
          <span><b>${user.name}</b> <span class="plan-badge">${user.plan}</span> <span class="muted mono">${user.userId}</span></span>
          <${AddBook} user=${user} />
        </div>`,
      )}
    </section>
    ${opened && html`<${BookDetail} book=${opened} onClose=${() => setOpen(null)} />`}
  </div>`;
}

"""What the API answers, as frozen dataclasses (the raw ``data`` stays available as ``raw``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass(frozen=True)
class Accepted:
    """A generation job the API accepted (``202``); ``replayed`` for an idempotent replay."""

    book_id: str
    task_id: str
    status: str
    replayed: bool = False


@dataclass(frozen=True)
class Page:
    index: int
    content: str | None
    image_url: str | None
    title: str | None = None


@dataclass(frozen=True)
class Story:
    id: str
    status: str
    progress: int
    page_count: int | None
    title: str | None
    summary: str | None
    cover_image: str | None
    pages: tuple[Page, ...]
    error_message: str | None
    created_at: str | None
    completed_at: str | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @property
    def in_progress(self) -> bool:
        return self.status in ("pending", "processing")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Story:
        # The API may omit a null field: read everything optional with .get().
        return cls(
            id=data["id"],
            status=data["status"],
            progress=data.get("progress") or 0,
            page_count=data.get("pageCount"),
            title=data.get("title"),
            summary=data.get("summary"),
            cover_image=data.get("coverImage"),
            pages=tuple(
                Page(p["index"], p.get("content"), p.get("imageUrl"), p.get("title"))
                for p in data.get("pages") or ()
            ),
            error_message=data.get("errorMessage"),
            created_at=data.get("createdAt"),
            completed_at=data.get("completedAt"),
            raw=data,
        )


@dataclass(frozen=True)
class RateLimit:
    """The per-minute budget the last response reported (``x-ratelimit-*``)."""

    limit: int
    remaining: int
    reset: int

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateLimit | None:
        try:
            return cls(
                int(headers["x-ratelimit-limit"]),
                int(headers["x-ratelimit-remaining"]),
                int(headers["x-ratelimit-reset"]),
            )
        except (KeyError, ValueError):
            return None

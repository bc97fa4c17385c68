"""Deterministic story text: the same idea and book id always give the same title and pages."""

from __future__ import annotations

import functools
import hashlib
import re

_WORD = re.compile(r"[\w']+")
#: Texts kept per function: enough for the books being polled while they generate (a settled
#: story is cached whole, encoded), bounded so that long runs do not grow with every book.
_CACHED = 2048
_TITLE_MAX = 80
#: First words that are not names: lower-cased when the idea continues a sentence.
_COMMON_OPENERS = frozenset(
    {
        *("a", "an", "the", "one", "two", "three", "some", "every", "once"),
        *("my", "our", "his", "her", "their", "this", "that", "these", "those"),
    }
)
_OPENINGS = (
    "Once upon a time, {idea}",
    "The next morning, the adventure continued. {idea}",
    "Along the way, a new friend appeared and asked a question.",
    "Something unexpected happened, and everyone held their breath.",
    "With a little courage and a lot of kindness, they found a way.",
    "They laughed together, and the day felt brighter than before.",
    "As the sun went down, they remembered what they had learned.",
)


@functools.lru_cache(maxsize=_CACHED)
def title_for(idea: str) -> str:
    words = _WORD.findall(idea)
    if words and words[0].lower() in {"a", "an", "the"}:
        words = words[1:]
    return " ".join(w.capitalize() for w in words[:6])[:_TITLE_MAX] or "A Storybook"


@functools.lru_cache(maxsize=_CACHED)
def slug_for(title: str, book_id: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "story"
    return f"{base}-{book_id[:8]}"


@functools.lru_cache(maxsize=_CACHED)
def summary_for(idea: str, tone: str | None, age_range: str | None) -> str:
    mood = (tone or "gentle").replace("_", " ")
    clipped = idea.strip()[:200]
    return f"A {mood} story for ages {age_range or 'all'}: {clipped}"


def _mid_sentence(idea: str) -> str:
    """``A little fox…`` → ``a little fox…``; names (``Finn…``) keep their capital."""
    first = idea.split(maxsplit=1)[0] if idea else ""
    return idea[0].lower() + idea[1:] if first.lower() in _COMMON_OPENERS else idea


@functools.lru_cache(maxsize=_CACHED)
def page_text(book_id: str, idea: str, index: int) -> str:
    seed = hashlib.sha256(f"{book_id}:{index}".encode()).digest()[0]
    if index == 0:
        return _OPENINGS[0].format(idea=_mid_sentence(idea.strip()))
    template = _OPENINGS[1 + (seed + index) % (len(_OPENINGS) - 1)]
    return template.format(idea=idea.strip())

"""Request bodies and header names, from the spec (locust-free: the benchmark uses them too)."""

from __future__ import annotations

import random
import uuid
from typing import Any

from mockserver.spec import load_spec

_spec = load_spec()
API_KEY_HEADER = _spec.api_key_header
IDEMPOTENCY_HEADER = _spec.rules["idempotency"]["header"]
REPLAY_HEADER = _spec.rules["idempotency"]["replayHeader"].lower()
_BODY = _spec.schema("CreateStoryRequest")["properties"]
#: Job statuses a poller keeps polling; any other status ends the poll.
IN_PROGRESS = frozenset({"pending", "processing"})
if not set(_spec.enum("JobStatus")) >= IN_PROGRESS:  # pragma: no cover — the spec changed
    raise RuntimeError("JobStatus in openapi.yaml no longer has pending and processing")


def story_body() -> dict[str, Any]:
    """A valid create request, varied the way real clients vary them (enums from the spec)."""
    pages = _BODY["pageCount"]
    body: dict[str, Any] = {
        name: random.choice(_spec.resolve(node)["enum"])
        for name, node in _BODY.items()
        if "enum" in _spec.resolve(node)
    }
    animal = random.choice(["fox", "owl", "otter"])
    body["storyIdea"] = f"A small {animal} who learns to share, story {uuid.uuid4().hex[:8]}."
    body["pageCount"] = random.randint(pages["minimum"], pages["maximum"])
    return body

"""TLS on deployments, and keys that never come back in a response."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from contracts.clauses import clause
from contracts.client import STORIES, Api, ApiAnswer
from contracts.control import Account
from contracts.jobs import valid_body
from contracts.target import Target
from mockserver.core.keys import KEY_PREFIX

#: How much of a key may show up (a masked form such as ``cbk_live_…abcd``).
_VISIBLE_TAIL = 4


@clause("transport.tls")
def test_plain_http_to_the_deployment_is_refused_or_redirected(target: Target) -> None:
    parts = urlsplit(target.url)
    if parts.scheme != "https":
        pytest.skip(f"the target is {parts.scheme}:// (the local mock serves plain HTTP)")
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    plain = urlunsplit(("http", host, f"{STORIES}/{uuid.uuid4()}", "", ""))
    try:
        response = httpx.get(plain, timeout=15, follow_redirects=False)
    except httpx.TransportError:
        return
    if response.is_redirect:
        location = response.headers.get("location", "")
        assert location.startswith("https://"), f"plain HTTP redirected to {location!r}"
        return
    answered = _envelope_code(response) in ("UNAUTHORIZED", "NOT_FOUND")
    assert not (response.is_success or answered), (
        f"plain HTTP was served: {response.status_code} {response.text[:200]}"
    )


def _envelope_code(response: httpx.Response) -> str | None:
    """The API's error code, when the answer is the API's own envelope."""
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


def secret_parts(key: str) -> list[str]:
    """The parts of a key that must never be echoed (its prefix alone is public)."""
    secret = key.removeprefix(KEY_PREFIX)
    return [key, secret[: len(secret) - _VISIBLE_TAIL]] if len(secret) > _VISIBLE_TAIL else [key]


def leaks(answer: ApiAnswer, key: str) -> list[str]:
    texts = [answer.text, *(f"{k}: {v}" for k, v in answer.headers.items())]
    return [s for s in secret_parts(key) if any(s in text for text in texts)]


def exchanges(api: Api, key: str) -> list[ApiAnswer]:
    """Every way a key reaches the server: both headers, valid or not, reads and creates."""
    return [
        api.get_story(str(uuid.uuid4()), key=key),
        api.get_story(str(uuid.uuid4()), bearer=key),
        api.get_story("not-a-uuid", key=key),
        api.probe(valid_body(), key=key),
        api.probe({}, bearer=key),
        api.send("DELETE", STORIES, key=key),
        api.send("GET", "/v1/unknown", key=key),
    ]


@clause("transport.keys-secret")
@pytest.mark.parametrize("kind", ["valid", "unknown", "malformed", "revoked", "free"])
def test_keys_never_appear_in_responses(
    api: Api, kind: str, spare_account: Account, request: pytest.FixtureRequest
) -> None:
    if kind == "valid":
        key = spare_account.key
    elif kind == "unknown":
        key = KEY_PREFIX + uuid.uuid4().hex + uuid.uuid4().hex[:8]
    elif kind == "malformed":
        key = spare_account.key + "!"
    else:
        key = request.getfixturevalue(f"{kind}_account").key
    for answer in exchanges(api, key):
        found = leaks(answer, key)
        assert not found, (
            f"a response contains the {kind} key: {answer.method} {answer.path} → {answer.status}"
        )

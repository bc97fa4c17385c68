"""The contract's names as ``openapi.yaml`` spells them: headers, codes, limits.

Read once from the spec (``mockserver.spec``); the rest of the suite imports them from here and
never retypes them. An error code the suite names is checked against the spec's ``ErrorCode``
enum at import, so a renamed code fails loudly instead of silently never matching.
"""

from __future__ import annotations

from mockserver.spec import load_spec

SPEC = load_spec()


def _response_header(component: str) -> str:
    """The response header name whose definition is ``#/components/headers/<component>``."""
    target = f"#/components/headers/{component}"
    for item in SPEC.document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                for name, header in SPEC.resolve(response).get("headers", {}).items():
                    if header.get("$ref") == target:
                        return name
    raise KeyError(f"no response header is defined by {target}")


def error_code(name: str) -> str:
    """``name``, once the spec's ``ErrorCode`` enum is known to define it."""
    if name not in SPEC.enum("ErrorCode"):
        raise KeyError(f"{name!r} is not an ErrorCode of openapi.yaml")
    return name


STORIES = SPEC.operation("createStory")[0]
_SCHEMES = SPEC.document["components"]["securitySchemes"]
API_KEY_HEADER: str = _SCHEMES["ApiKeyHeader"]["name"]
#: ``Authorization: Bearer …`` (RFC 6750: the scheme name is case-insensitive).
BEARER_SCHEME: str = _SCHEMES["BearerAuth"]["scheme"]
IDEMPOTENCY_HEADER: str = SPEC.rules["idempotency"]["header"]
REPLAY_HEADER: str = SPEC.rules["idempotency"]["replayHeader"]
REQUEST_ID_HEADER: str = SPEC.rules["requestId"]["header"]
RATE_LIMIT_LIMIT = _response_header("XRateLimitLimit")
RATE_LIMIT_REMAINING = _response_header("XRateLimitRemaining")
RATE_LIMIT_RESET = _response_header("XRateLimitReset")
RATE_HEADERS = (RATE_LIMIT_LIMIT, RATE_LIMIT_REMAINING, RATE_LIMIT_RESET)
RETRY_AFTER = _response_header("RetryAfter")
ALLOW = _response_header("Allow")
#: The 429 of the per-minute limit: the one a client may retry within the window.
RATE_LIMITED = error_code("RATE_LIMIT_EXCEEDED")
VALIDATION_ERROR = error_code("VALIDATION_ERROR")
WINDOW = SPEC.rate_limit_window
MAX_PAGE_COUNT = SPEC.schema("CreateStoryRequest")["properties"]["pageCount"]["maximum"]

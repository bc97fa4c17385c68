"""The constants code reads from ``openapi.yaml`` instead of retyping them."""

from __future__ import annotations

import re

from mockserver.core import keys
from mockserver.spec import load_spec

SPEC = load_spec()


def test_rate_limit_header_names_are_those_the_responses_send():
    _, _, create = SPEC.operation("createStory")
    accepted = create["responses"]["202"]["headers"]
    assert set(SPEC.rate_limit_headers) == {
        name for name, node in accepted.items() if "RateLimit" in node["$ref"]
    }
    assert SPEC.rate_limit_headers.limit == "x-ratelimit-limit"


def test_retry_after_header_is_the_429s():
    too_many = SPEC.document["components"]["responses"]["TooManyRequests"]["headers"]
    assert too_many[SPEC.retry_after_header]["$ref"].endswith("/RetryAfter")


def test_api_key_header_is_the_api_key_security_scheme():
    assert SPEC.api_key_header == "x-api-key"


def test_key_prefix_is_read_off_the_key_pattern_and_new_keys_match_it():
    assert SPEC.api_key_prefix == "cbk_live_"
    assert re.fullmatch(SPEC.api_key_pattern, keys.new_key())
    assert re.fullmatch(SPEC.api_key_pattern, keys.dev_key("premium"))

"""The hot-path helpers: JSON text (orjson with a standard-library fallback) and random ids."""

from __future__ import annotations

import json
import os
import re
import uuid

from mockserver.core import codec, ids


def test_dumps_is_compact_utf8_json():
    assert codec.dumps({"a": [1, None], "b": "é"}) == '{"a":[1,null],"b":"é"}'.encode()


def test_dumps_falls_back_for_integers_past_64_bits():
    assert json.loads(codec.dumps({"n": 2**70})) == {"n": 2**70}


def test_dumps_falls_back_for_text_no_utf8_can_carry():
    assert codec.dumps("\ud800") == b'"\\ud800"'


def test_new_uuid_is_a_canonical_random_version_4_uuid():
    for _ in range(1000):
        text = ids.new_uuid()
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)


def test_new_uuids_do_not_repeat():
    assert len({ids.new_uuid() for _ in range(10_000)}) == 10_000


def test_new_token_is_lowercase_hex_of_the_asked_length():
    for length in (1, 12, 31, 32):
        assert re.fullmatch(f"[0-9a-f]{{{length}}}", ids.new_token(length))


def test_a_forked_worker_draws_other_ids_than_its_parent():
    ids.new_uuid()  # the parent holds random bytes drawn but not handed out yet
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writer, ids.new_uuid().encode())
        os._exit(0)
    os.close(writer)
    os.waitpid(child, 0)
    with os.fdopen(reader) as answer:
        in_child = answer.read()
    assert str(uuid.UUID(in_child)) == in_child
    assert in_child != ids.new_uuid()

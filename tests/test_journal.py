"""The request journal (``GET``/``DELETE /_mock/requests``): the newest exchanges with the public
API, newest first, keys masked, bodies cut at 4 KB, bounded by ``journalSize`` — in memory and
in Redis, where every worker process writes to one shared, capped log."""

from __future__ import annotations

import asyncio
import json
import sys

import aiohttp
import httpx
import pytest
import redis

from mockserver.core import journal as journal_module
from mockserver.core.accounts import dev_keys
from mockserver.core.journal import BODY_LIMIT
from mockserver.core.keys import KEY_PREFIX, masked_key
from mockserver.http.control import control_spec
from mockserver.serve import cli
from mockserver.spec import load_spec
from mockserver.testing.process import MockProcess
from tests.limits_kit import PRO_USER, advance, dashboard_book, plans, set_usage, together
from tests.mock_kit import (
    SOME_UUID,
    control,
    data_of,
    encoded_keys,
    error_of,
    fully_decoded,
    raw_exchange,
)

JOURNAL_LOG = "cbk-mock:log:journal"  # where the Redis backend keeps it (default prefix)
PRO_KEY = dev_keys()["pro"]


async def journal(client: httpx.AsyncClient, mock, **filters) -> list[dict]:
    reply = await client.get("/_mock/requests", params=filters, headers=mock.admin_headers)
    return data_of(reply)


async def dev_key_id(client: httpx.AsyncClient, mock, name: str = "pro") -> str:
    return (await control(client, mock, "GET", "dev-keys"))[name]["keyId"]


async def test_exchanges_are_journaled_newest_first(backend_mock, backend_client, create_body):
    pro = {"x-api-key": backend_mock.keys["pro"]}
    created = await backend_client.post("/v1/stories", json=create_body, headers=pro)
    book = data_of(created, 202)["bookId"]
    read = await backend_client.get(f"/v1/stories/{book}", headers=pro)
    records = await journal(backend_client, backend_mock)
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("GET", f"/v1/stories/{book}", 200),
        ("POST", "/v1/stories", 202),
    ]
    assert records[0]["seq"] > records[1]["seq"]
    assert [r["requestId"] for r in records] == [
        read.headers["x-request-id"],
        created.headers["x-request-id"],
    ]
    assert {r["userId"] for r in records} == {PRO_USER}
    assert {r["keyId"] for r in records} == {await dev_key_id(backend_client, backend_mock)}
    assert json.loads(records[1]["request"]["body"]) == create_body


async def test_records_carry_the_documented_fields(mock, client, create_body):
    pro = {"x-api-key": mock.keys["pro"]}
    await client.post("/v1/stories", json=create_body, headers=pro)
    await client.get("/nowhere")
    validator = control_spec().validator("JournalRecord")
    for record in await journal(client, mock):
        assert list(validator.iter_errors(record)) == [], record


async def test_control_calls_are_not_journaled(mock, client):
    await control(client, mock, "GET", "clock")
    await client.get("/_mock/health")
    assert await journal(client, mock) == []


@pytest.mark.mock_config(journal_control=True)
async def test_control_calls_are_journaled_when_asked_with_the_token_masked(mock, client):
    await control(client, mock, "POST", "users", {"plan": "pro"})
    created = (await journal(client, mock, path="/_mock/users"))[0]
    text = json.dumps(created)
    assert mock.admin_token not in text
    assert created["response"]["body"] is not None and "cbk_live_…" in created["response"]["body"]
    assert '"apiKey":"cbk_live_…' in created["response"]["body"]


async def test_keys_are_never_stored_only_their_id(mock, client):
    issued = await control(client, mock, "POST", "users", {"plan": "pro"})
    key = issued["apiKey"]
    await client.get(f"/v1/stories/{SOME_UUID}", headers={"x-api-key": key})
    await client.get(f"/v1/stories/{SOME_UUID}", headers={"authorization": f"Bearer {key}"})
    await client.get(f"/v1/stories/{SOME_UUID}?key={key}", headers={"x-api-key": "wrong-key-1234"})
    records = await journal(client, mock)
    assert key not in json.dumps(records)
    assert "wrong-key-1234" not in json.dumps(records)
    assert [r["keyId"] for r in records] == [None, issued["keyId"], issued["keyId"]]
    sent = [dict((name.lower(), value) for name, value in r["request"]["headers"]) for r in records]
    assert sent[2]["x-api-key"] == f"cbk_live_…{key[-4:]}"
    assert sent[1]["authorization"] == f"Bearer cbk_live_…{key[-4:]}"
    assert sent[0]["x-api-key"] == "…1234"


async def test_header_bytes_that_are_not_utf8_are_journaled_readably(mock, client):
    request = (
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\nX-Trace: caf\xe9\xff\r\nConnection: close\r\n\r\n"
    )
    assert (await raw_exchange(mock.url, request)).status == 404
    (record,) = await journal(client, mock)
    assert ["X-Trace", "caf\\xe9\\xff"] in record["request"]["headers"]


async def test_a_refused_key_is_named_with_its_user(mock, client):
    await client.get(f"/v1/stories/{SOME_UUID}", headers={"x-api-key": mock.keys["revoked"]})
    (refused,) = await journal(client, mock)
    assert (refused["status"], refused["code"], refused["check"]) == (
        401,
        "INVALID_API_KEY",
        "auth",
    )
    assert refused["keyId"] == await dev_key_id(client, mock, "revoked")
    assert refused["userId"] == "user_dev_revoked"


async def test_bodies_are_cut_at_4_kb(mock, client, create_body):
    body = json.dumps({**create_body, "storyIdea": "x" * 10_000}).encode()
    pro = {"x-api-key": mock.keys["pro"], "content-type": "application/json"}
    await client.post("/v1/stories", content=body, headers=pro)
    (record,) = await journal(client, mock)
    assert len(record["request"]["body"].encode()) == BODY_LIMIT
    assert (record["request"]["bodyBytes"], record["request"]["bodyTruncated"]) == (len(body), True)
    assert record["check"] == "bodyValidation"


async def test_binary_answers_are_described_not_stored(mock, client):
    book = await dashboard_book(client, mock)
    await client.get(f"/assets/{book}/cover.png")
    (record,) = await journal(client, mock)
    assert record["response"]["body"] is None
    assert record["response"]["bodyBytes"] > 0


@pytest.mark.mock_config(journal_size=5)
async def test_the_journal_keeps_only_the_newest_records(backend_mock, backend_client):
    for _ in range(12):
        await backend_client.get("/nowhere")
    records = await journal(backend_client, backend_mock, limit=100)
    assert [r["seq"] for r in records] == [12, 11, 10, 9, 8]


async def test_filters_combine(mock, client, create_body):
    pro, premium = {"x-api-key": mock.keys["pro"]}, {"x-api-key": mock.keys["premium"]}
    book = (await client.post("/v1/stories", json=create_body, headers=pro)).json()["data"]
    await client.get(f"/v1/stories/{book['bookId']}", headers=pro)
    await client.get(f"/v1/stories/{SOME_UUID}", headers=premium)
    await client.get(f"/v1/stories/{book['bookId']}", headers=premium)

    def shown(records: list[dict]) -> list[tuple[str, int]]:
        return [(r["method"], r["status"]) for r in records]

    assert shown(await journal(client, mock, user=PRO_USER)) == [("GET", 200), ("POST", 202)]
    premium_key = await dev_key_id(client, mock, "premium")
    assert shown(await journal(client, mock, keyId=premium_key)) == [("GET", 404), ("GET", 404)]
    assert shown(await journal(client, mock, method="post")) == [("POST", 202)]
    assert len(await journal(client, mock, path="/v1/stories/*")) == 3
    assert shown(await journal(client, mock, status="4xx")) == [("GET", 404), ("GET", 404)]
    assert shown(await journal(client, mock, status="202")) == [("POST", 202)]
    assert len(await journal(client, mock, code="NOT_FOUND", user="user_dev_premium")) == 2
    assert len(await journal(client, mock, limit=1)) == 1


async def test_since_and_after_select_by_time_and_number(mock, client):
    await client.get("/nowhere")
    await advance(client, mock, 30)
    now = (await control(client, mock, "GET", "clock"))["now"]
    await client.get("/elsewhere")
    (later,) = await journal(client, mock, since=now)
    assert later["path"] == "/elsewhere"
    await client.get("/third")
    assert [r["path"] for r in await journal(client, mock, after=later["seq"])] == ["/third"]


@pytest.mark.parametrize(
    "query",
    ["status=42", "limit=0", "limit=many", "since=yesterday", "colour=red", "method=a&method=b"],
)
async def test_invalid_filters_are_a_validation_error(mock, client, query):
    reply = await client.get(f"/_mock/requests?{query}", headers=mock.admin_headers)
    error = error_of(reply, 400, "VALIDATION_ERROR")
    assert set(error["fields"]) == {query.split("=")[0]}


async def test_the_journal_needs_the_admin_token(mock, client):
    error_of(await client.get("/_mock/requests"), 401, "UNAUTHORIZED")
    error_of(await client.delete("/_mock/requests"), 401, "UNAUTHORIZED")


@pytest.mark.mock_config(clock="manual", plans=plans(pro={"requestsPerMinute": 2}))
async def test_a_429_says_which_check_answered_and_when_it_resets(mock, client):
    pro = {"x-api-key": mock.keys["pro"]}
    await advance(client, mock, 15)
    replies = [await client.get(f"/v1/stories/{SOME_UUID}", headers=pro) for _ in range(3)]
    assert replies[-1].status_code == 429
    (refused,) = await journal(client, mock, status="429")
    assert (refused["code"], refused["check"]) == ("RATE_LIMIT_EXCEEDED", "perMinuteLimit")
    assert refused["retryAfter"] == int(replies[-1].headers["retry-after"]) == 45
    assert refused["resetsAt"] == "2026-01-05T09:01:00.000Z"
    assert refused["rateLimit"] == {"limit": 2, "remaining": 0, "reset": 45}


async def test_a_daily_cap_refusal_names_its_check(mock, client, create_body):
    await set_usage(client, mock, booksToday=50)
    await client.post("/v1/stories", json=create_body, headers={"x-api-key": mock.keys["pro"]})
    (refused,) = await journal(client, mock)
    assert (refused["code"], refused["check"]) == ("DAILY_CAP_EXCEEDED", "dailyCap")
    assert refused["resetsAt"] is not None


async def test_an_idempotent_replay_is_recorded_with_its_key(mock, client, create_body):
    headers = {"x-api-key": mock.keys["pro"], "Idempotency-Key": "order-7"}
    for _ in range(2):
        await client.post("/v1/stories", json=create_body, headers=headers)
    replay, first = await journal(client, mock)
    assert (first["idempotencyKey"], first["idempotentReplayed"]) == ("order-7", False)
    assert (replay["idempotencyKey"], replay["idempotentReplayed"]) == ("order-7", True)


async def test_clearing_empties_the_journal_and_numbers_go_on(backend_mock, backend_client):
    await backend_client.get("/nowhere")
    reply = await backend_client.delete("/_mock/requests", headers=backend_mock.admin_headers)
    assert data_of(reply) == {"cleared": True}
    assert await journal(backend_client, backend_mock) == []
    await backend_client.get("/nowhere")
    assert [r["seq"] for r in await journal(backend_client, backend_mock)] == [2]


async def test_a_reset_empties_the_journal(mock, client):
    await client.get("/nowhere")
    await control(client, mock, "POST", "reset")
    assert await journal(client, mock) == []


@pytest.mark.mock_config(journal_size=0)
async def test_size_zero_turns_the_journal_off(mock, client):
    await client.get("/nowhere")
    assert await journal(client, mock) == []


@pytest.mark.mock_config(journal_size=100)
async def test_the_journal_stays_bounded_under_a_soak(backend_mock, backend_client, request):
    """50 times more exchanges than the journal keeps, 50 at a time over real sockets (aiohttp's
    client: httpx's would take most of the time)."""
    async with aiohttp.ClientSession(backend_mock.url) as session:

        async def exchange() -> None:
            async with session.get(f"/v1/stories/{SOME_UUID}") as reply:
                await reply.read()

        for _ in range(100):
            await asyncio.gather(*(exchange() for _ in range(50)))
    records = await journal(backend_client, backend_mock, limit=1000)
    assert len(records) == 100
    assert [r["seq"] for r in records] == list(range(5000, 4900, -1))
    if backend_mock.service.db.name == "redis":
        with redis.Redis.from_url(request.getfixturevalue("redis_url")) as connection:
            assert connection.llen(JOURNAL_LOG) == 100
    else:
        assert len(backend_mock.service.db._logs["journal"]) == 100


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SO_REUSEPORT is Linux's")
async def test_two_workers_write_one_bounded_journal(redis_url):
    serve = ("--workers", "2", "--redis-url", redis_url, "--journal-size", "50")
    with MockProcess(*serve, "--clock", "manual", "--no-access-log") as running:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=running.url, limits=limits) as http:
            replies = await together(300, lambda: http.get("/nowhere"))
            records = await journal(http, running, limit=1000)
    assert {r.status_code for r in replies} == {404}
    assert len(records) == 50
    assert [r["seq"] for r in records] == list(range(300, 250, -1))
    assert {r["requestId"] for r in records} <= {r.headers["x-request-id"] for r in replies}
    with redis.Redis.from_url(redis_url) as connection:
        assert connection.llen(JOURNAL_LOG) == 50


def _serve_config(*args: str):
    return cli.config_from_args(cli.build_parser().parse_args(["serve", *args]))


def test_the_journal_is_sized_by_flag_or_config_file(tmp_path):
    assert _serve_config().journal_size == 1000
    assert (
        _serve_config().journal_control,
        _serve_config("--journal-control").journal_control,
    ) == (
        False,
        True,
    )
    assert _serve_config("--journal-size", "5").journal_size == 5
    config = tmp_path / "mock.yaml"
    config.write_text("journalSize: 7\njournalControl: true\n")
    from_file = _serve_config("--config", str(config))
    assert (from_file.journal_size, from_file.journal_control) == (7, True)


@pytest.mark.parametrize("size", ["-1", "100001"])
def test_an_impossible_journal_size_is_refused(size):
    with pytest.raises(SystemExit, match=r"journal size must be 0\.\.100000"):
        _serve_config("--journal-size", size)


def test_checks_are_named_in_the_specs_words():
    in_order = {name for names in load_spec().rules["checkOrder"].values() for name in names}
    outside = {"authFailureLimit", "routing", "scenario", "stateStore", "internal", "request"}
    named = {*journal_module._CHECK_BY_CODE.values(), *journal_module._CHECK_BY_OPERATION.values()}
    assert named <= in_order | outside
    documented = control_spec().schema("JournalRecord")["properties"]["check"]["description"]
    assert all(f"`{name}`" in documented for name in named | outside)


def _exchange_carrying(written: str) -> journal_module.Exchanged:
    """An exchange with ``written`` wherever a client can put text the journal keeps."""
    return journal_module.Exchanged(
        method="POST",
        path=f"/v1/stories/{written}",
        query=f"api_key={written}",
        request_headers=[
            ("X-Trace", written),
            (written, "a header named so"),
            ("Content-Type", "application/json"),
        ],
        request_body=json.dumps({"storyIdea": written}).encode(),
        status=400,
        reply_headers={"content-type": "application/json", "x-request-id": written},
        reply_body=json.dumps({"ok": False, "error": {"message": written}}).encode(),
        request_id=written,
        operation="createStory",
        user_id=None,
        key_id=None,
        arrived_at=None,
        duration_ms=1.0,
    )


@pytest.mark.parametrize(
    "written",
    [PRO_KEY, *encoded_keys(PRO_KEY).values()],
    ids=["as is", *encoded_keys(PRO_KEY)],
)
def test_what_the_journal_keeps_holds_no_key_before_anyone_reads_it(written):
    kept = journal_module.keep(_exchange_carrying(written), answered_at=0.0)
    held = fully_decoded(kept.encode().decode())  # the fields as held, nothing added
    assert PRO_KEY[len(KEY_PREFIX) : -4] not in held
    assert held.count(masked_key(PRO_KEY)) == 8  # each place masked, none dropped


def test_long_header_names_and_values_are_cut_like_values():
    exchanged = _exchange_carrying("x")._replace(request_headers=[("N" * 5000, "v" * 5000)])
    record = journal_module.decode(journal_module.keep(exchanged, answered_at=0.0).encode())
    [(name, value)] = record["request"]["headers"]
    assert (len(name), len(value)) == (journal_module.HEADER_VALUE_LIMIT,) * 2

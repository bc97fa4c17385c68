"""One contract, two state backends: every test runs against MemoryBackend and against
RedisBackend on our own Redis database. Concurrency is real (asyncio.gather over many calls)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import redis

from mockserver.core.errors import BackendUnavailable
from mockserver.core.state import MemoryBackend, Quota, StateBackend
from mockserver.core.state.redis import RedisBackend

PREFIX = "cbk-test:"


@pytest.fixture(params=["memory", "redis"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[StateBackend]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    store = RedisBackend(request.getfixturevalue("redis_url"), prefix=PREFIX)
    yield store
    await store.close()


async def test_documents_round_trip_and_are_copies(backend):
    record = {"a": [1, 2], "b": None}
    await backend.put("doc", record)
    record["a"].append(3)
    assert await backend.get("doc") == {"a": [1, 2], "b": None}
    assert await backend.get("missing") is None


async def test_load_decodes_the_document_or_gives_none(backend):
    await backend.put("doc", {"n": 2})
    assert await backend.load("doc", lambda doc: ("decoded", doc["n"])) == ("decoded", 2)
    assert await backend.load("missing", lambda doc: doc) is None


async def test_load_sees_every_change_to_the_document(backend):
    def decode(doc):
        return tuple(sorted(doc.items()))

    await backend.put("doc", {"a": 1})
    assert await backend.load("doc", decode) == (("a", 1),)
    await backend.merge("doc", {"b": 2})
    assert await backend.load("doc", decode) == (("a", 1), ("b", 2))
    await backend.put("doc", {"c": 3})
    assert await backend.load("doc", decode) == (("c", 3),)
    await backend.delete("doc")
    assert await backend.load("doc", decode) is None


async def test_load_does_not_outlive_the_expiry_of_its_document(backend):
    await backend.put("short", 1, expire_seconds=0.05)
    assert await backend.load("short", str) == "1"
    await asyncio.sleep(0.15)
    assert await backend.load("short", str) is None


async def test_memory_load_decodes_once_while_the_document_is_unchanged():
    backend, calls = MemoryBackend(), []

    def decode(doc):
        calls.append(doc)
        return frozenset(doc)

    await backend.put("doc", {"a": 1})
    first = await backend.load("doc", decode)
    assert await backend.load("doc", decode) is first
    assert await backend.load("doc", lambda doc: frozenset(doc)) == first  # another decoder
    await backend.put("doc", {"a": 1})
    assert await backend.load("doc", decode) == first
    assert len(calls) == 2


async def test_document_with_expiry_is_dropped_after_it(backend):
    await backend.put("short", 1, expire_seconds=0.05)
    await backend.put("long", 2)
    await asyncio.sleep(0.15)
    assert await backend.get("short") is None
    assert await backend.get("long") == 2


async def test_delete_removes_every_kind_of_value_under_a_key(backend):
    await backend.put("k", "doc")
    await backend.add_member("k", "m")
    await backend.hit("k", 60)
    await backend.push("k", 1)
    await backend.schedule("k", 1.0, {"x": 1})
    await backend.delete("k")
    assert await backend.get("k") is None
    assert await backend.members("k") == []
    assert await backend.read_counter("k") == 0
    assert await backend.pop("k") is None
    assert await backend.pop_due("k", 2.0) == []


async def test_set_members_are_unique_and_sorted(backend):
    for member in ("b", "a", "b"):
        await backend.add_member("s", member)
    assert await backend.members("s") == ["a", "b"]


async def test_concurrent_hits_each_get_their_own_count(backend):
    counts = await asyncio.gather(*(backend.hit("c", 60) for _ in range(300)))
    assert sorted(counts) == list(range(1, 301))
    assert await backend.read_counter("c") == 300


async def test_hit_unless_counts_while_the_guard_is_below_its_limit(backend):
    await backend.set_counter("guard", 2)
    assert await backend.hit_unless("c", 60, "guard", 3) == 1
    await backend.hit("guard", 60)
    assert await backend.hit_unless("c", 60, "guard", 3) is None
    assert await backend.read_counter("c") == 1


async def test_concurrent_hit_unless_each_get_their_own_count(backend):
    counts = await asyncio.gather(*(backend.hit_unless("c", 60, "guard", 1) for _ in range(200)))
    assert sorted(counts) == list(range(1, 201))


async def test_set_counter_overwrites_the_count(backend):
    await backend.hit("c", 60)
    await backend.set_counter("c", 41)
    assert await backend.hit("c", 60) == 42


async def test_charge_is_all_or_nothing(backend):
    await backend.set_counter("month", 495)
    refused = await backend.charge([Quota("day", 1, 50), Quota("month", 7, 500)])
    assert refused == 1
    assert await backend.read_counter("day") == 0
    assert await backend.read_counter("month") == 495


async def test_charge_names_the_first_quota_that_does_not_fit(backend):
    await backend.set_counter("day", 50)
    await backend.set_counter("month", 500)
    assert await backend.charge([Quota("day", 1, 50), Quota("month", 7, 500)]) == 0


async def test_charge_that_fits_exactly_is_accepted(backend):
    await backend.set_counter("month", 493)
    assert await backend.charge([Quota("day", 1, 50), Quota("month", 7, 500)]) is None
    assert await backend.read_counter("day") == 1
    assert await backend.read_counter("month") == 500


async def test_concurrent_charges_stop_exactly_at_the_limit(backend):
    results = await asyncio.gather(
        *(backend.charge([Quota("day", 1, 37), Quota("month", 3, 10_000)]) for _ in range(100))
    )
    assert results.count(None) == 37
    assert await backend.read_counter("day") == 37
    assert await backend.read_counter("month") == 37 * 3


async def test_release_never_goes_below_zero(backend):
    await backend.set_counter("c", 5)
    await backend.release("c", 3)
    assert await backend.read_counter("c") == 2
    await backend.release("c", 10)
    assert await backend.read_counter("c") == 0


async def test_claim_returns_the_live_record_and_replaces_an_expired_one(backend):
    assert await backend.claim("i", {"v": 1, "expiresAt": 100.0}, now=10.0) is None
    assert await backend.claim("i", {"v": 2, "expiresAt": 200.0}, now=99.0) == {
        "v": 1,
        "expiresAt": 100.0,
    }
    assert await backend.claim("i", {"v": 3, "expiresAt": 300.0}, now=100.0) is None
    assert (await backend.get("i"))["v"] == 3


async def test_concurrent_claims_have_exactly_one_winner(backend):
    results = await asyncio.gather(
        *(backend.claim("i", {"n": n, "expiresAt": 1e9}, now=0.0) for n in range(50))
    )
    assert results.count(None) == 1
    winner = await backend.get("i")
    assert all(r == winner for r in results if r is not None)


async def test_claim_lease_lapses_unless_the_record_is_overwritten(backend):
    await backend.claim("lapsing", {"expiresAt": 1e9}, now=0.0, lease_seconds=0.05)
    await backend.claim("kept", {"expiresAt": 1e9}, now=0.0, lease_seconds=0.05)
    await backend.put("kept", {"expiresAt": 1e9, "done": True})
    await asyncio.sleep(0.15)
    assert await backend.claim("lapsing", {"expiresAt": 1e9}, now=0.0) is None
    assert await backend.claim("kept", {"expiresAt": 1e9}, now=0.0) == {
        "expiresAt": 1e9,
        "done": True,
    }


async def test_replace_if_changes_only_a_document_that_still_matches(backend):
    await backend.put("claim", {"owner": "a", "state": "pending"})
    assert not await backend.replace_if("claim", "owner", "b", {"owner": "b", "state": "done"})
    assert not await backend.replace_if("claim", "owner", "b", None)
    assert not await backend.replace_if("missing", "owner", "a", {"owner": "a"})
    assert await backend.get("claim") == {"owner": "a", "state": "pending"}
    assert await backend.replace_if("claim", "owner", "a", {"owner": "a", "state": "done"})
    assert (await backend.get("claim"))["state"] == "done"
    assert await backend.replace_if("claim", "owner", "a", None)
    assert await backend.get("claim") is None
    assert await backend.get("missing") is None


async def test_replace_if_keeps_the_expiry_it_is_given(backend):
    await backend.put("claim", {"owner": "a"})
    await backend.replace_if("claim", "owner", "a", {"owner": "a"}, expire_seconds=0.05)
    await asyncio.sleep(0.15)
    assert await backend.get("claim") is None


async def test_concurrent_replace_if_has_exactly_one_winner(backend):
    await backend.put("claim", {"owner": "a"})
    results = await asyncio.gather(
        *(backend.replace_if("claim", "owner", "a", {"owner": f"n{n}"}) for n in range(30))
    )
    assert results.count(True) == 1


async def test_memory_collects_the_counters_of_ended_windows(monkeypatch):
    backend, clock = MemoryBackend(), [1000.0]
    monkeypatch.setattr("mockserver.core.state.memory.time.monotonic", lambda: clock[0])
    for window in range(100):
        for _ in range(3):
            await backend.hit(f"rl:user:{window}", 120)
        await backend.hit_unless(f"auth:{window}", 120, f"rl:user:{window}", 10)
        clock[0] += 60
    assert backend.footprint()["counters"] <= 2 * 3  # this window's and the last two's
    assert await backend.read_counter("rl:user:99") == 3
    assert await backend.read_counter("rl:user:0") == 0


async def test_pop_due_returns_each_due_item_exactly_once(backend):
    for due in (1.0, 2.0, 2.0, 5.0):
        await backend.schedule("r", due, {"amount": 7})  # equal items must all survive
    assert await backend.pop_due("r", 0.5) == []
    batches = await asyncio.gather(*(backend.pop_due("r", 2.0) for _ in range(20)))
    assert sum(len(b) for b in batches) == 3
    assert await backend.pop_due("r", 10.0) == [{"amount": 7}]
    assert await backend.pop_due("r", 10.0) == []


async def test_queue_is_first_in_first_out(backend):
    await backend.push("q", {"n": 1}, {"n": 2})
    await backend.push("q", {"n": 3})
    assert await backend.peek_all("q") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert [await backend.pop("q") for _ in range(4)] == [{"n": 1}, {"n": 2}, {"n": 3}, None]


async def test_concurrent_pops_hand_out_each_item_once(backend):
    await backend.push("q", *range(40))
    popped = await asyncio.gather(*(backend.pop("q") for _ in range(60)))
    assert sorted(p for p in popped if p is not None) == list(range(40))


async def test_flush_forgets_everything(backend):
    await backend.put("d", 1)
    await backend.hit("c", 60)
    await backend.add_member("s", "m")
    await backend.flush()
    assert await backend.get("d") is None
    assert await backend.read_counter("c") == 0
    assert await backend.members("s") == []


# --- Redis only --------------------------------------------------------------------------


async def test_redis_flush_leaves_keys_outside_its_prefix(redis_url):
    other = redis.Redis.from_url(redis_url)
    other.set("someone-else:key", "kept")
    store = RedisBackend(redis_url, prefix=PREFIX)
    try:
        await store.put("d", 1)
        await store.flush()
        assert await store.get("d") is None
        assert other.get("someone-else:key") == b"kept"
    finally:
        await store.close()
        other.close()


async def test_two_redis_backends_on_one_prefix_share_state(redis_url):
    first, second = RedisBackend(redis_url, prefix=PREFIX), RedisBackend(redis_url, prefix=PREFIX)
    try:
        counts = await asyncio.gather(
            *(store.hit("shared", 60) for store in (first, second) for _ in range(50))
        )
        assert sorted(counts) == list(range(1, 101))
    finally:
        await first.close()
        await second.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_unreachable_redis_raises_backend_unavailable():
    store = RedisBackend(f"redis://127.0.0.1:{_closed_port()}/0")
    try:
        with pytest.raises(BackendUnavailable):
            await store.hit("c", 60)
        with pytest.raises(BackendUnavailable):
            await store.claim("i", {"expiresAt": 1.0}, now=0.0)
    finally:
        await store.close()


async def test_add_float_sums_from_zero_and_is_readable_as_a_document(backend):
    assert await backend.add_float("offset", 1.5) == 1.5
    assert await backend.add_float("offset", 2.0) == 3.5
    assert await backend.get("offset") == 3.5


async def test_raise_to_only_moves_forward(backend):
    assert await backend.raise_to("clock", 10.0) == 10.0
    assert await backend.raise_to("clock", 5.0) == 10.0
    assert await backend.raise_to("clock", 12.5) == 12.5
    assert await backend.get("clock") == 12.5


async def test_concurrent_clock_moves_are_neither_lost_nor_backwards(backend):
    import asyncio

    from mockserver.core.clock import ManualClock

    clock = ManualClock(backend, start=1_000.0)
    await asyncio.gather(*(clock.advance(1) for _ in range(20)))
    assert await clock.now() == 1_020.0
    outcomes = await asyncio.gather(clock.set(2_000.0), clock.set(1_500.0), return_exceptions=True)
    assert await clock.now() == 2_000.0
    assert sum(isinstance(o, Exception) for o in outcomes) <= 1


async def test_merge_sets_fields_and_keeps_the_others(backend):
    await backend.put("user:1", {"plan": "pro", "credits": None, "name": "a"})
    assert await backend.merge("user:1", {"plan": "free"}) == {
        "plan": "free",
        "credits": None,
        "name": "a",
    }
    assert await backend.get("user:1") == {"plan": "free", "credits": None, "name": "a"}
    assert await backend.merge("missing", {"plan": "free"}) is None
    assert await backend.get("missing") is None


async def test_concurrent_revoke_and_suspend_both_stick(backend):
    import asyncio

    from mockserver.core.accounts import Accounts
    from mockserver.spec import load_spec

    accounts = Accounts(backend, load_spec().plans)
    issued = await accounts.create_user("pro")
    for _ in range(10):
        await asyncio.gather(
            accounts.set_key_flags(issued.key_id, revoked=True),
            accounts.set_key_flags(issued.key_id, suspended=True),
        )
        record = await accounts.key_record(issued.key_id)
        assert (record.revoked, record.suspended) == (True, True)
        await accounts.set_key_flags(issued.key_id, revoked=False, suspended=False)

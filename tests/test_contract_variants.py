"""Proof that the contract suite passes correct servers that differ from the mock: against
every variant in ``tests.variants`` the suite passes with no failure, no error and no
unhandled error in the variant's log — the whole suite, fuzzing included, for the variants that
change the shape of answers (``SHAPES``), the behaviour layer for the others.

A variant allowed under both profiles runs under ``decisions`` only: a run without a single
broken clause under ``decisions`` has none under ``page`` either (``page`` only turns broken
decision clauses into warnings — ``test_contract_verdict.py``). A variant only a decision rules
out runs under ``page``, and must come out with a warning on that decision's clause.

Each variant also shows, before its run, that its patch is live (``EVIDENCE``): a variant whose
patch never runs would prove nothing. Runs go two at a time, with a fast job clock.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest

from contracts.clauses import PAGE
from contracts.jobs import valid_body
from mockserver.core.config import DEFAULT_PAGE_SECONDS
from mockserver.testing.process import MockProcess, RunningMock
from tests.mutants.runner import FAST_PAGE_SECONDS, WORKERS, SuiteRun, run_suite
from tests.proxy_kit import variant_command
from tests.variants import VARIANTS, Variant

REQUIRED = {
    "key-before-body",
    "key-and-body-merged",
    "nulls-omitted",
    "additive-fields",
    "ulid-request-ids",
    "other-error-messages",
    "pages-in-bursts",
    "windows-from-first-request",
}
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
#: What the suite's summary must say about its validation probes against each check order.
STRATEGY = {
    "key-before-body": "validation probes: paid",
    "body-before-key": "validation probes: free",
    "key-and-body-merged": "validation probes: free",
}


def profile_of(found: Variant) -> str:
    return PAGE if found.profiles == (PAGE,) else "decisions"


#: Variants whose difference is in the shape of answers: the property layer (schemathesis,
#: every response against the schema) is where a suite would trip over them, so they run it;
#: the others differ in behaviour the behaviour layer covers, and skip its minute of fuzzing.
SHAPES = {"nulls-omitted", "additive-fields", "ulid-request-ids", "other-error-messages"}
#: Fuzzing examples per operation for them: a fifth of the suite's local default, enough for
#: every status and shape the schema documents to come up.
FUZZ_EXAMPLES = 30


def run_variant(found: Variant) -> SuiteRun:
    return run_suite(
        "variants",
        found.name,
        profile=profile_of(found),
        page_seconds=FAST_PAGE_SECONDS,
        fuzz=found.name in SHAPES,
        fuzz_examples=FUZZ_EXAMPLES,
    )


@pytest.fixture(scope="module")
def runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[SuiteRun]]]:
    selected = {
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module
        and hasattr(item, "callspec")
        and item.originalname == "test_the_suite_passes_the_variant"
    }
    pool = ThreadPoolExecutor(WORKERS)
    yield {name: pool.submit(run_variant, VARIANTS[name]) for name in sorted(selected)}
    pool.shutdown(wait=True, cancel_futures=True)


def test_every_listed_variant_exists() -> None:
    assert set(VARIANTS) >= REQUIRED, f"missing variants: {REQUIRED - set(VARIANTS)}"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_the_suite_passes_the_variant(runs: dict[str, Future[SuiteRun]], name: str) -> None:
    found, run = VARIANTS[name], runs[name].result()
    failed = [f"{c.name}: {c.message[:300]}" for c in run.failures]
    assert run.returncode == 0 and not failed, f"{name} failed:\n{failed}\n{run.explain()}"
    assert run.cases, f"{name}: no test ran:\n{run.explain()}"
    assert not run.errors_logged, f"{name}: the variant's mock crashed:\n{run.explain()}"
    warned = {w[1 : w.index("]")] for w in run.warnings}
    assert set(found.warns) <= warned, f"{name}: warnings {sorted(warned)}, not {found.warns}"
    if name in STRATEGY:
        assert STRATEGY[name] in run.output, f"{name}: not {STRATEGY[name]!r}:\n{run.explain()}"


# --- each variant's patch is live ----------------------------------------------------------------
Evidence = Callable[[httpx.Client, RunningMock], None]
EVIDENCE: dict[str, Evidence] = {}


def evidence(name: str) -> Callable[[Evidence], Evidence]:
    def register(check: Evidence) -> Evidence:
        EVIDENCE[name] = check
        return check

    return register


def _auth(running: RunningMock, **headers: str) -> dict[str, str]:
    return {"x-api-key": running.keys["pro"], **headers}


def _create(client: httpx.Client, running: RunningMock, **headers: str) -> httpx.Response:
    return client.post("/v1/stories", json=valid_body(), headers=_auth(running, **headers))


def _unknown(client: httpx.Client, running: RunningMock) -> dict:
    return client.get(f"/v1/stories/{uuid.uuid4()}", headers=_auth(running)).json()


def _named(client: httpx.Client, running: RunningMock) -> set[str]:
    """What an invalid body sent with an over-long key is refused for."""
    headers = _auth(running, **{"Idempotency-Key": "k" * 200})
    answer = client.post("/v1/stories", json={}, headers=headers).json()
    return set(answer["error"].get("fields") or {})


@evidence("key-before-body")
def _key_alone_is_named(client: httpx.Client, running: RunningMock) -> None:
    assert _named(client, running) == {"Idempotency-Key"}


@evidence("body-before-key")
def _body_alone_is_named(client: httpx.Client, running: RunningMock) -> None:
    named = _named(client, running)
    assert "storyIdea" in named and "Idempotency-Key" not in named, named


@evidence("key-and-body-merged")
def _both_are_named(client: httpx.Client, running: RunningMock) -> None:
    assert {"Idempotency-Key", "storyIdea"} <= _named(client, running)


@evidence("nulls-omitted")
def _a_pending_book_has_no_title_key(client: httpx.Client, running: RunningMock) -> None:
    book = _create(client, running).json()["data"]["bookId"]
    story = client.get(f"/v1/stories/{book}", headers=_auth(running)).json()["data"]
    assert "title" not in story, story


@evidence("additive-fields")
def _the_202_has_more_fields(client: httpx.Client, running: RunningMock) -> None:
    assert "queuePosition" in _create(client, running).json()["data"]


@evidence("ulid-request-ids")
def _generated_ids_are_ulids(client: httpx.Client, running: RunningMock) -> None:
    assert ULID.fullmatch(_unknown(client, running)["requestId"])


@evidence("other-error-messages")
def _messages_are_reworded(client: httpx.Client, running: RunningMock) -> None:
    assert _unknown(client, running)["error"]["message"].startswith("Die Anfrage")


def _advance(client: httpx.Client, running: RunningMock, seconds: float) -> None:
    moved = client.post(
        "/_mock/clock/advance", json={"seconds": seconds}, headers=running.admin_headers
    )
    moved.raise_for_status()


@evidence("pages-in-bursts")
def _pages_come_several_at_a_time(client: httpx.Client, running: RunningMock) -> None:
    """Polled every half page: a mock writing page by page shows them one at a time."""
    book = _create(client, running).json()["data"]["bookId"]
    seen: list[int] = []
    for _ in range(100):
        story = client.get(f"/v1/stories/{book}", headers=_auth(running)).json()["data"]
        seen.append(len(story["pages"]))
        if story["status"] == "completed":
            break
        _advance(client, running, DEFAULT_PAGE_SECONDS / 2)
    steps = [b - a for a, b in itertools.pairwise(seen) if b != a]
    assert steps and max(steps) > 1, f"pages seen: {seen}"


@evidence("windows-from-first-request")
def _a_first_request_opens_a_full_window(client: httpx.Client, running: RunningMock) -> None:
    """Off the minute, where a clock-aligned window would have less than 60 s left."""
    _advance(client, running, 7)
    user = client.post("/_mock/users", json={"plan": "pro"}, headers=running.admin_headers)
    key = user.json()["data"]["apiKey"]
    answer = client.get(f"/v1/stories/{uuid.uuid4()}", headers={"x-api-key": key})
    assert answer.headers["x-ratelimit-reset"] == "60", answer.headers


@evidence("405-without-allow")
def _no_allow_header(client: httpx.Client, running: RunningMock) -> None:
    assert "allow" not in client.delete("/v1/stories", headers=_auth(running)).headers


@evidence("non-uuid-id-is-404")
def _garbage_ids_are_not_found(client: httpx.Client, running: RunningMock) -> None:
    assert client.get("/v1/stories/nope", headers=_auth(running)).status_code == 404


@evidence("replay-without-header")
def _replays_are_unmarked(client: httpx.Client, running: RunningMock) -> None:
    key = str(uuid.uuid4())
    first = _create(client, running, **{"Idempotency-Key": key})
    again = _create(client, running, **{"Idempotency-Key": key})
    assert again.json()["data"]["bookId"] == first.json()["data"]["bookId"]
    assert "idempotent-replayed" not in again.headers


def test_every_variant_shows_its_patch() -> None:
    assert set(EVIDENCE) == set(VARIANTS), f"no evidence for {set(VARIANTS) - set(EVIDENCE)}"


@pytest.fixture(scope="module")
def launch() -> Iterator[Callable[[str], RunningMock]]:
    """Start a variant's mock on a manual clock, which the evidence moves (stopped at the end
    of the module)."""
    with contextlib.ExitStack() as stack:

        def start(name: str) -> RunningMock:
            process = MockProcess(
                *("--clock", "manual", "--no-access-log", "--log-level", "WARNING"),
                command=variant_command(name),
            )
            return stack.enter_context(process)

        yield start


@pytest.mark.parametrize("name", sorted(EVIDENCE))
def test_the_variants_patch_is_live(launch: Callable[[str], RunningMock], name: str) -> None:
    running = launch(name)
    with httpx.Client(base_url=running.url, timeout=10) as client:
        EVIDENCE[name](client, running)

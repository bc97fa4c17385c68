"""The load test: its rate-limit auditor on scripted answers (no false positives with answers
in flight or out of order; each breach caught), and short headless locust runs against the mock —
green against the real limiter, red against a broken one, and in every distributed mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtests.__main__ import main as run_load
from loadtests.bench import Placement, bench_config, paired_ratio
from loadtests.keys import EXCLUSIVE, SHARED, KeyEntry, KeyPool, KeySet, parse_keys
from loadtests.profiles import seconds, users_at
from mockserver.http.ratelimit_audit import (
    CHECK_CLAUSES,
    LIMITER_CODE,
    WINDOW,
    Answer,
    RateLimitAuditor,
    merge_summaries,
)
from tests.conftest import own_redis_database

LIMIT = 5
#: The load tests' own Redis database (flushed before and after); CBK_LOAD_REDIS_URL moves it.
LOAD_REDIS_URL = os.environ.get("CBK_LOAD_REDIS_URL", "redis://127.0.0.1:6379/14")
MUTANT = [sys.executable, "-m", "tests.mutants", "limiter-lets-extra-through"]


# --- the auditor on scripted answers ---------------------------------------------------------
class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def passed(remaining: int, reset: int = 30, limit: int = LIMIT, status: int = 200) -> Answer:
    return Answer(
        status,
        {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(reset),
        },
    )


def limited(reset: int = 30, retry_after: int | None = None, remaining: int = 0) -> Answer:
    headers = dict(passed(remaining, reset).headers)
    headers["retry-after"] = str(reset if retry_after is None else retry_after)
    return Answer(429, headers, LIMITER_CODE)


def checks(auditor: RateLimitAuditor) -> set[str]:
    """The checks that found something (the counts are keyed ``clause: check``)."""
    return {name.partition(": ")[2] for name in auditor.violations}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auditor(clock: Clock) -> RateLimitAuditor:
    return RateLimitAuditor(fresh=True, clock=clock)


def test_audit_accepts_answers_arriving_out_of_order(auditor: RateLimitAuditor) -> None:
    tickets = [auditor.begin("acct") for _ in range(LIMIT + 2)]
    answers = [passed(4), passed(1), limited(), passed(0), passed(3), limited(), passed(2)]
    for ticket, answer in zip(reversed(tickets), answers, strict=True):
        auditor.finish(ticket, answer)
    auditor.close()
    assert auditor.violations == {}


def test_audit_flags_a_remaining_value_handed_out_twice(auditor: RateLimitAuditor) -> None:
    first, second = auditor.begin("acct"), auditor.begin("acct")
    auditor.finish(first, passed(0))
    verdict = auditor.finish(second, passed(0))
    assert [v.check for v in verdict.violations] == [
        "x-ratelimit-remaining repeated within one window"
    ]


def test_audit_flags_a_429_before_the_budget_is_spent(auditor: RateLimitAuditor) -> None:
    for remaining in (4, 3):
        auditor.finish(auditor.begin("acct"), passed(remaining))
    concurrent = [auditor.begin("acct"), auditor.begin("acct")]
    for ticket in concurrent:
        auditor.finish(ticket, limited())
    assert auditor.violations == {}
    auditor.close()
    assert checks(auditor) == {"429 before the per-minute budget was used up"}


def test_audit_explains_an_early_429_by_requests_still_in_flight(
    auditor: RateLimitAuditor,
) -> None:
    for remaining in (4, 3):
        auditor.finish(auditor.begin("acct"), passed(remaining))
    unanswered = [auditor.begin("acct") for _ in range(3)]
    auditor.finish(auditor.begin("acct"), limited())
    auditor.lost(unanswered[0])  # a connection error: it may have counted all the same
    auditor.close()
    assert auditor.violations == {}


def test_audit_does_not_judge_an_unfresh_key_s_first_window(clock: Clock) -> None:
    auditor = RateLimitAuditor(fresh=False, clock=clock)
    auditor.finish(auditor.begin("acct"), passed(1))
    auditor.finish(auditor.begin("acct"), passed(0))
    auditor.finish(auditor.begin("acct"), limited())
    auditor.close()
    assert auditor.violations == {}


def test_audit_flags_a_sequential_remaining_that_does_not_drop_by_one(
    auditor: RateLimitAuditor,
) -> None:
    auditor.finish(auditor.begin("acct"), passed(4))
    verdict = auditor.finish(auditor.begin("acct"), passed(2))
    assert [v.check for v in verdict.violations] == ["x-ratelimit-remaining did not drop by one"]


def test_audit_flags_a_429_while_the_previous_answer_left_budget(
    auditor: RateLimitAuditor,
) -> None:
    auditor.finish(auditor.begin("acct"), passed(4))
    verdict = auditor.finish(auditor.begin("acct"), limited())
    assert "429 while the previous answer left budget" in [v.check for v in verdict.violations]


def test_audit_flags_a_window_that_does_not_start_with_a_full_budget(
    auditor: RateLimitAuditor, clock: Clock
) -> None:
    auditor.finish(auditor.begin("acct"), passed(4, reset=2))
    clock.now += 3
    verdict = auditor.finish(auditor.begin("acct"), passed(2, reset=WINDOW - 1))
    assert [v.check for v in verdict.violations] == ["a window's first answer is not limit-1"]


def test_audit_flags_a_429_after_waiting_retry_after(
    auditor: RateLimitAuditor, clock: Clock
) -> None:
    for remaining in range(LIMIT - 1, -1, -1):
        auditor.finish(auditor.begin("acct"), passed(remaining, reset=10))
    auditor.finish(auditor.begin("acct"), limited(reset=10))
    clock.now += 10
    verdict = auditor.finish(auditor.begin("acct"), limited(reset=WINDOW))
    assert "still limited after waiting retry-after" in [v.check for v in verdict.violations]


def test_audit_flags_missing_headers_but_not_a_proxy_5xx(auditor: RateLimitAuditor) -> None:
    proxy = auditor.finish(auditor.begin("acct"), Answer(502, {}))
    bare = auditor.finish(auditor.begin("acct"), Answer(200, {}))
    assert (proxy.violations, [v.check for v in bare.violations]) == (
        [],
        ["rate-limit headers missing"],
    )


def test_audit_flags_a_429_without_retry_after(auditor: RateLimitAuditor) -> None:
    answer = limited()
    del answer.headers["retry-after"]  # type: ignore[attr-defined]
    verdict = auditor.finish(auditor.begin("acct"), answer)
    assert "429 without a retry-after of at least 1 s" in [v.check for v in verdict.violations]


def test_audit_flags_a_limit_other_than_the_plan_s(auditor: RateLimitAuditor) -> None:
    verdict = auditor.finish(auditor.begin("acct", plan="pro"), passed(4))
    assert [v.check for v in verdict.violations] == ["x-ratelimit-limit differs from the plan"]


def test_audit_flags_a_reset_that_jumps_within_one_window(
    auditor: RateLimitAuditor, clock: Clock
) -> None:
    auditor.finish(auditor.begin("acct"), passed(4, reset=30))
    clock.now += 1
    verdict = auditor.finish(auditor.begin("acct"), passed(3, reset=40))
    assert [v.check for v in verdict.violations] == [
        "x-ratelimit-reset inconsistent within one window"
    ]


def test_audit_flags_windows_off_one_grid_when_aligned(clock: Clock) -> None:
    auditor = RateLimitAuditor(fresh=True, aligned=True, clock=clock)
    auditor.finish(auditor.begin("a"), passed(4, reset=30))
    auditor.finish(auditor.begin("b"), passed(4, reset=30 - WINDOW // 2 + WINDOW))
    assert checks(auditor) == {"rate-limit windows off the one-minute grid"}


def test_audit_names_each_violation_by_its_contract_clause(auditor: RateLimitAuditor) -> None:
    auditor.finish(auditor.begin("acct"), passed(4))
    verdict = auditor.finish(auditor.begin("acct"), passed(2))
    assert [(v.clause, v.name) for v in verdict.violations] == [
        ("limits.decreasing", "limits.decreasing: x-ratelimit-remaining did not drop by one")
    ]
    assert set(auditor.violations) == {verdict.violations[0].name}


def test_audit_with_shared_keys_skips_checks_that_need_every_request(clock: Clock) -> None:
    auditor = RateLimitAuditor(fresh=True, shared=True, clock=clock)
    auditor.finish(auditor.begin("acct"), passed(4))
    auditor.finish(auditor.begin("acct"), passed(1))  # others spent two in between
    auditor.finish(auditor.begin("acct"), passed(1))
    auditor.close()
    assert checks(auditor) == {"x-ratelimit-remaining repeated within one window"}


def test_every_audit_check_names_a_clause() -> None:
    from contracts.clauses import CLAUSES

    assert set(CHECK_CLAUSES.values()) <= set(CLAUSES)


def test_audit_summaries_of_processes_add_up() -> None:
    one = {"counts": {"counted": 2}, "violations": {"x": 1}, "byClass": {"U": {"counted": 2}}}
    two = {"counts": {"counted": 3, "rejected": 1}, "byClass": {"U": {"rejected": 1}}}
    merged = merge_summaries([one, two])
    assert (merged["counts"], merged["byClass"], merged["violations"]) == (
        {"counted": 5, "rejected": 1},
        {"U": {"counted": 2, "rejected": 1}},
        {"x": 1},
    )


# --- keys and shapes -------------------------------------------------------------------------
def test_keys_file_rejects_an_unknown_role() -> None:
    with pytest.raises(ValueError, match="role must be one of"):
        parse_keys({"keys": [{"apiKey": "cbk_live_x", "role": "burst"}]})


def test_key_pools_of_two_processes_are_disjoint() -> None:
    keys = KeySet(
        tuple(KeyEntry(f"shared{i}", SHARED) for i in range(4))
        + tuple(KeyEntry(f"exclusive{i}", EXCLUSIVE) for i in range(4))
    )
    pools = [KeyPool(keys, index, 2) for index in range(2)]
    taken = [
        {pool.lease(role).api_key for role in (SHARED, SHARED, EXCLUSIVE, EXCLUSIVE)}
        for pool in pools
    ]
    assert taken[0].isdisjoint(taken[1]) and len(taken[0] | taken[1]) == 8


def test_step_profile_climbs_to_the_peak_in_four_steps() -> None:
    assert [users_at("step", p, 40) for p in (0, 0.3, 0.6, 0.99)] == [10, 20, 30, 40]


def test_spike_profile_peaks_in_the_middle_of_the_run() -> None:
    assert [users_at("spike", p, 30) for p in (0.1, 0.5, 0.9)] == [10, 30, 10]


def test_run_time_spans_read_like_locust_s() -> None:
    assert [seconds(span) for span in ("45", "30s", "2m", "1h30m")] == [45, 30, 120, 5400]


def test_runner_keeps_locust_out_of_its_own_process() -> None:
    """locust monkey-patches the standard library on import: only its subprocesses load it."""
    probe = "import sys, loadtests.__main__, loadtests.bench; sys.exit('gevent' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_bench_ratio_is_the_median_of_rounds_measured_back_to_back() -> None:
    # Round 2 ran while the machine was slow for both: its pair still says 0.5.
    assert paired_ratio([500, 250, 700], [1000, 500, 1000]) == 0.5


def test_bench_measures_the_default_journal_unless_told_a_size() -> None:
    assert "journalSize" not in bench_config()
    assert bench_config(journal_size=0)["journalSize"] == 0


def test_bench_keeps_servers_and_wrk_on_separate_cpus() -> None:
    placement = Placement.split()
    if len(os.sched_getaffinity(0)) < 2:
        assert placement == Placement()  # one CPU: nothing to separate
    else:
        assert placement.server and placement.load
        assert not placement.server & placement.load


# --- headless runs against the mock ----------------------------------------------------------
def load(tmp: Path, *args: str, name: str = "load") -> tuple[int, dict[str, Any]]:
    """One short headless run; the exit code and the verdict locust wrote."""
    defaults = ("--run-time", "5s", "--users", "8", "--spawn-rate", "8", "--shape", "constant")
    code = run_load([*defaults, "--reports-dir", str(tmp), "--name", name, *args])
    return code, json.loads((tmp / f"{name}-verdict.json").read_text())


@pytest.fixture(scope="module")
def green_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("load")
    return (*load(tmp), tmp)


def test_load_run_against_the_mock_exits_zero(green_run) -> None:
    code, verdict, _ = green_run
    assert (code, verdict["breaches"]) == (0, [])


def test_load_run_sees_429s_for_the_burst_user(green_run) -> None:
    _, verdict, _ = green_run
    assert verdict["audit"]["byClass"]["BurstUser"].get("rejected", 0) > 0


def test_load_run_writes_csv_and_html_reports(green_run) -> None:
    _, _, tmp = green_run
    assert {"load_stats.csv", "load_failures.csv", "load.html"} <= {p.name for p in tmp.iterdir()}


def test_load_run_fails_against_a_limiter_that_lets_extra_through(tmp_path: Path) -> None:
    code, verdict = load(tmp_path, "--mock-command", " ".join(MUTANT))
    assert code == 1
    assert (
        "limits.headers: x-ratelimit-remaining repeated within one window"
        in verdict["audit"]["violations"]
    )


def test_load_run_with_locust_processes_merges_every_worker(tmp_path: Path) -> None:
    code, verdict = load(tmp_path, "--processes", "2", "--shape", "spike", "--run-time", "4s")
    assert (code, verdict["breaches"], verdict["audit"]["processes"]) == (0, [], 2)


def test_load_run_with_a_master_and_a_worker_passes(tmp_path: Path) -> None:
    code, verdict = load(tmp_path, "--locust-workers", "1", "--shape", "step", "--run-time", "4s")
    assert (code, verdict["breaches"], verdict["audit"]["processes"]) == (0, [], 1)


@pytest.fixture
def load_redis_url() -> Iterator[str]:
    """Redis database 14, ours alone, flushed before and after."""
    yield from own_redis_database(LOAD_REDIS_URL)


def test_load_run_against_mock_workers_on_redis_passes(tmp_path: Path, load_redis_url) -> None:
    code, verdict = load(
        tmp_path, "--mock-workers", "2", "--redis-url", load_redis_url, "--run-time", "4s"
    )
    assert (code, verdict["breaches"]) == (0, [])


# --- the soak benchmark ----------------------------------------------------------------------
def test_soak_smoke_holds_the_cap_and_reports_memory(tmp_path: Path) -> None:
    """A few seconds of ``python -m loadtests.soak`` past a small cap: the mock never holds more
    books than the cap, the first book is evicted (404), and the series is written."""
    output = tmp_path / "soak.json"
    options = {"--minutes": "0.12", "--max-books": "400", "--sample-seconds": "1"}
    options |= {"--concurrency": "8", "--flat-mb": "30", "--output": str(output)}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtests.soak",
            "--strict",
            *(x for o in options.items() for x in o),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    report = json.loads(output.read_text())
    assert report["capHeld"] and report["maxHeld"] == 400 and report["firstBookStatus"] == 404
    assert report["created"] > 400 and report["failures"] == {}
    assert len(report["samples"]) >= 5

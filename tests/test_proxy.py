"""``cbk-mock proxy`` and ``cbk-mock parity`` over real sockets: the proxy stays silent in
front of the real mock (the standard traffic and the example SDK's own tests), names the clause
each broken mock breaks, keeps keys out of everything it writes, turns violations into 502s
with ``--strict`` and verifies the upstream's certificate; a recording of the mock replays
without difference, and one of a broken mock shows where.

Every run (a mock or mutant, the proxy in front, traffic through it) is started once, two at a
time, when the module begins; the tests then read what their run left behind.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockserver.clause_ids import PAGE, PAGE_PROFILE, SOURCES, ClauseId
from mockserver.core.accounts import dev_keys
from mockserver.serve import cli
from mockserver.testing.process import MockProcess, ProxyProcess
from mockserver.testing.sdk_kit import LiveMock
from tests.proxy_kit import (
    BODY,
    UNKNOWN_ID,
    ProxiedRun,
    mutant_command,
    proxied_run,
    run_pytest,
)

WORKERS = 2
BASELINE = "mock"
#: One broken mock per check family, and the clause the proxy must name for it.
MUTANT_CLAUSES = {
    "unknown-path-text-plain": ClauseId.ENVELOPE_JSON,
    "key-echoed-in-error": ClauseId.KEYS_SECRET,
    "remaining-off-by-one": ClauseId.LIMITS_HEADERS,
    "retry-after-zero": ClauseId.LIMITS_RETRY_AFTER,
    "status-goes-back": ClauseId.LIFECYCLE_FORWARD,
    "page-missing-from-list": ClauseId.LIFECYCLE_PAGES,
    "replay-without-header": ClauseId.IDEMPOTENCY_REPLAY_HEADER,
    "idempotency-ignores-body": ClauseId.IDEMPOTENCY_CONFLICT,
    "foreign-book-visible": ClauseId.GET_OWNERSHIP,
    "non-uuid-id-is-404": ClauseId.GET_UUID,
}
#: A mutant broken on a page clause, run again under ``--profile page``, which must still fail it.
PAGE_CLAUSE_MUTANT, PAGE_PROFILE_RUN = "foreign-book-visible", "foreign-book-visible-page"
#: What parity names when it replays a recording of the mutant against the mock.
MUTANT_DIFFERENCES = {
    "replay-without-header": "headers.idempotent-replayed",
    "idempotency-ignores-body": "status",
    "status-goes-back": "lifecycle <book:1>",
    "retry-after-zero": "headers.retry-after",
}


# --- the runs ----------------------------------------------------------------------------
@dataclass
class SdkRun:
    pytest_output: str
    pytest_code: int
    proxy_code: int
    report: dict[str, Any]


def _sdk_run(workdir: Path) -> SdkRun:
    """The example SDK's own tests (those against a live mock) through the proxy."""
    report = workdir / "report.json"
    with MockProcess("--clock", "manual", "--no-access-log") as mock:
        proxy = ProxyProcess(mock.url, "--report", str(report), "--no-access-log")
        try:
            url = proxy.start()
            result = run_pytest(
                [
                    "examples/python-sdk/tests",
                    *("-k", "cbk_server", "-q", "-p", "no:cacheprovider"),
                    *("-p", "no:childrenbooks", "-p", "tests.proxy_sdk_plugin"),
                ],
                {"CBK_PROXY_URL": url},
            )
            code = proxy.stop()
        finally:
            proxy.close()
    output = result.stdout + result.stderr
    return SdkRun(output, result.returncode, code, json.loads(report.read_text()))


@dataclass
class StrictRun:
    foreign: httpx.Response
    own: httpx.Response
    proxy_code: int
    #: What the proxy answers itself: an unparseable request, an unknown proxy endpoint.
    garbage: bytes
    unknown_endpoint: httpx.Response


def _strict_run(workdir: Path) -> StrictRun:
    """``--strict`` in front of a mock that shows any user's book to any other."""
    with MockProcess("--clock", "manual", command=mutant_command("foreign-book-visible")) as mock:
        proxy = ProxyProcess(mock.url, "--strict", "--no-access-log")
        try:
            url = proxy.start()
            LiveMock(url).reset_state()
            keys = dev_keys()
            with httpx.Client(base_url=url, timeout=30) as http:
                created = http.post("/v1/stories", json=BODY, headers={"x-api-key": keys["pro"]})
                path = f"/v1/stories/{created.json()['data']['bookId']}"
                foreign = http.get(path, headers={"x-api-key": keys["other"]})
                own = http.get(path, headers={"x-api-key": keys["pro"]})
                unknown_endpoint = http.get("/_proxy/nope")
            host, port = url.removeprefix("http://").rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=10) as raw:
                raw.sendall(b"GARBAGE\x00 / HTTP/9\r\n\r\n")
                garbage = raw.recv(65536)
            code = proxy.stop()
        finally:
            proxy.close()
    return StrictRun(foreign, own, code, garbage, unknown_endpoint)


def _tls_run(workdir: Path) -> dict[str, httpx.Response]:
    """An HTTPS mock with a private CA, behind a proxy that trusts it and one that does not."""
    answers = {}
    with MockProcess("--tls", "--no-access-log") as mock:
        for name, args in (("trusted", ["--upstream-ca", str(mock.ca_file)]), ("untrusted", [])):
            proxy = ProxyProcess(mock.url, *args, "--no-access-log")
            try:
                url = proxy.start()
                answers[name] = httpx.get(
                    f"{url}/v1/stories/{UNKNOWN_ID}", headers={"x-api-key": mock.keys["pro"]}
                )
                proxy.stop()
            finally:
                proxy.close()
    return answers


JOBS: dict[str, Callable[[Path], Any]] = {
    BASELINE: proxied_run,
    **{
        name: (lambda workdir, name=name: proxied_run(workdir, mutant_command(name)))
        for name in MUTANT_CLAUSES
    },
    "sdk": _sdk_run,
    "strict": _strict_run,
    PAGE_PROFILE_RUN: lambda workdir: proxied_run(
        workdir, mutant_command(PAGE_CLAUSE_MUTANT), proxy_args=("--profile", PAGE_PROFILE)
    ),
    "tls": _tls_run,
}


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[Any]]]:
    workdir = Path(tempfile.mkdtemp(prefix="cbk-proxy-tests-"))
    pool = ThreadPoolExecutor(WORKERS)
    futures = {}
    for name, job in JOBS.items():
        (workdir / name).mkdir()
        futures[name] = pool.submit(job, workdir / name)
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    shutil.rmtree(workdir, ignore_errors=True)


def run_of(runs: dict[str, Future[Any]], name: str) -> Any:
    return runs[name].result(timeout=300)


# --- the proxy in front of the real mock -----------------------------------------------------
def test_standard_traffic_to_the_mock_shows_no_violation(runs) -> None:
    run: ProxiedRun = run_of(runs, BASELINE)
    assert (run.exit_code, run.report["violations"]) == (0, []), run.log[-3000:]
    assert run.report["exchanges"] >= 60


def test_example_sdk_tests_pass_through_the_proxy_without_violation(runs) -> None:
    run: SdkRun = run_of(runs, "sdk")
    assert run.pytest_code == 0, run.pytest_output[-3000:]
    assert " passed" in run.pytest_output
    assert (run.proxy_code, run.report["violations"]) == (0, [])
    assert run.report["sessions"] > 10  # every test reset the mock: one session each


def test_report_endpoint_answers_while_the_proxy_runs(runs) -> None:
    run: ProxiedRun = run_of(runs, "replay-without-header")
    assert run.live_report["exchanges"] >= 60
    clauses = [v["clause"] for v in run.live_report["violations"]]
    assert clauses == [ClauseId.IDEMPOTENCY_REPLAY_HEADER]
    violation = run.live_report["violations"][0]
    assert (violation["method"], violation["path"], violation["status"]) == (
        "POST",
        "/v1/stories",
        202,
    )
    assert violation["at"].endswith("Z") and violation["message"]


# --- the proxy in front of broken mocks ------------------------------------------------------
@pytest.mark.parametrize(("mutant", "clause"), sorted(MUTANT_CLAUSES.items()))
def test_proxy_names_the_clause_a_broken_mock_breaks(runs, mutant: str, clause: str) -> None:
    run: ProxiedRun = run_of(runs, mutant)
    assert run.exit_code == 1, run.log[-3000:]
    assert clause in run.clauses, f"{mutant}: {run.report['violationCounts']}"


def test_a_page_clause_a_broken_mock_breaks_fails_under_the_page_profile(runs) -> None:
    clause = MUTANT_CLAUSES[PAGE_CLAUSE_MUTANT]
    assert SOURCES[clause] == PAGE
    run: ProxiedRun = run_of(runs, PAGE_PROFILE_RUN)
    assert run.exit_code == 1, run.log[-3000:]
    assert clause in run.clauses, run.report["violationCounts"]


def test_each_violation_is_one_log_line(runs) -> None:
    run: ProxiedRun = run_of(runs, "status-goes-back")
    lines = [line for line in run.log.splitlines() if " violation " in line]
    assert len(lines) == sum(run.report["violationCounts"].values()) > 0
    assert all("lifecycle." in line and "/v1/stories/" in line for line in lines)


def test_junit_report_fails_exactly_the_broken_clauses(runs) -> None:
    run: ProxiedRun = run_of(runs, "idempotency-ignores-body")
    cases = ElementTree.fromstring(run.junit).findall("testcase")
    failed = {case.get("name") for case in cases if case.find("failure") is not None}
    assert {case.get("name") for case in cases} == {clause.value for clause in ClauseId}
    assert failed == run.clauses == {ClauseId.IDEMPOTENCY_CONFLICT}


def test_keys_are_never_written_only_their_fingerprints(runs) -> None:
    run: ProxiedRun = run_of(runs, "key-echoed-in-error")  # the mock quotes keys back
    written = [run.log, run.junit, str(run.report), *(p.read_text() for p in run.cassettes)]
    leaked = [key for key in dev_keys().values() for text in written if key in text]
    assert leaked == []
    assert "cbk_live_" not in "".join(written)
    assert all("quotes the presented key" in v["message"] for v in run.report["violations"])


def test_strict_answers_a_violation_with_a_502_listing_it(runs) -> None:
    run: StrictRun = run_of(runs, "strict")
    error = run.foreign.json()["error"]
    assert (run.foreign.status_code, error["code"]) == (502, "EXTERNAL_SERVICE_ERROR")
    assert [v["clause"] for v in error["meta"]["violations"]] == [ClauseId.GET_OWNERSHIP]
    assert error["meta"]["upstreamStatus"] == 200
    assert (run.own.status_code, run.proxy_code) == (200, 1)


def test_what_the_proxy_answers_itself_is_the_envelope(runs) -> None:
    run: StrictRun = run_of(runs, "strict")
    head, _, body = run.garbage.partition(b"\r\n\r\n")
    assert head.split()[1] == b"400" and b"application/json" in head
    assert json.loads(body)["error"]["code"] == "BAD_REQUEST"
    assert (run.unknown_endpoint.status_code, run.unknown_endpoint.json()["ok"]) == (404, False)


def test_upstream_certificate_is_verified_against_the_given_ca(runs) -> None:
    answers = run_of(runs, "tls")
    assert answers["trusted"].status_code == 404  # the upstream's own answer
    untrusted = answers["untrusted"]
    assert (untrusted.status_code, untrusted.json()["error"]["code"]) == (
        502,
        "EXTERNAL_SERVICE_ERROR",
    )
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted.json()["error"]["message"]


# --- recordings and parity ---------------------------------------------------------------
def _cassettes(run: ProxiedRun, tmp_path: Path) -> Path:
    """A copy of the run's recordings (parity writes lastVerifiedAt into them)."""
    for path in run.cassettes:
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _parity(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = cli.main(["parity", *args])
    return code, capsys.readouterr().out


def test_recording_holds_placeholders_and_no_secret(runs) -> None:
    run: ProxiedRun = run_of(runs, BASELINE)
    header, first, *_ = yaml.safe_load_all(run.cassettes[0].read_text())
    assert header["keys"]["<key:pro>"] == "pro" and header["recordedAt"]
    assert first["request"]["headers"]["x-api-key"] == "<key:pro>"
    assert first["response"]["body"]["data"]["bookId"] == "<book:1>"
    assert not any(key in run.cassettes[0].read_text() for key in dev_keys().values())


def test_recording_of_the_mock_replays_without_difference(runs, tmp_path, capsys) -> None:
    directory = _cassettes(run_of(runs, BASELINE), tmp_path)
    code, out = _parity(capsys, str(directory))
    assert code == 0, out
    header = next(yaml.safe_load_all(next(directory.glob("*.yaml")).read_text()))
    assert header["lastVerifiedAt"] >= header["recordedAt"]


@pytest.mark.parametrize(("mutant", "difference"), sorted(MUTANT_DIFFERENCES.items()))
def test_parity_names_where_a_broken_mock_s_recording_differs(
    runs, tmp_path, capsys, mutant: str, difference: str
) -> None:
    code, out = _parity(capsys, str(_cassettes(run_of(runs, mutant), tmp_path)))
    assert code == 1
    assert f"{difference}: recorded" in out, out[-3000:]


def test_ignored_differences_do_not_fail_parity(runs, tmp_path, capsys) -> None:
    directory = _cassettes(run_of(runs, "replay-without-header"), tmp_path)
    code, out = _parity(capsys, str(directory), "--ignore", "headers.idempotent-*")
    assert code == 0, out
    assert "1 ignored" in out


def test_update_rewrites_a_recording_from_the_mock(runs, tmp_path, capsys) -> None:
    directory = _cassettes(run_of(runs, "idempotency-ignores-body"), tmp_path)
    assert _parity(capsys, str(directory), "--update")[0] == 0
    code, out = _parity(capsys, str(directory))
    assert code == 0, out
    header = next(yaml.safe_load_all(next(directory.glob("*.yaml")).read_text()))
    assert header["updatedFromMockAt"] and header["lastVerifiedAt"] >= header["updatedFromMockAt"]

"""The contract suite's fixtures and reporting.

Target selection, keys, budgets and the profile come from ``CBK_*`` variables
(``contracts.settings``). Every test names the clause it checks (``contracts.clauses.clause``); a
failure is a ``ContractViolation`` of a clause, a broken decision under ``--profile page`` a
warning (``contracts.verdict``), and the run ends with a one-screen table of clauses, their
sources, and what the run cost: wall time, requests, credits.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Generator, Iterator

import httpx
import pytest

from contracts.budget import CreditLedger
from contracts.clauses import CLAUSES, MARKER, ContractViolation, clause_of
from contracts.client import SPEC, Api
from contracts.control import Account
from contracts.jobs import BookRun, follow, valid_body
from contracts.lifeline import LifeLine
from contracts.probes import ValidationProbes, calibrate
from contracts.settings import API_KEY, Settings, SettingsError
from contracts.target import Target, open_target
from contracts.throttle import Throttle
from contracts.transport import SendPolicy, Traffic
from contracts.verdict import (
    CLAUSE_PROPERTY,
    REQUESTS_PROPERTY,
    SOURCE_PROPERTY,
    VERDICT,
    VIOLATION_PROPERTY,
    WARNING_PROPERTY,
)

PROPERTY = "cbk_property"
EXHAUSTS = "cbk_exhausts_limit"
RECOVERY = "cbk_recovery"
#: Fixtures that tie a test to CBK_API_KEY (on a deployment).
_MAIN_KEY_FIXTURES = frozenset({"account", "module_account", "book_run"})
_SETTINGS = pytest.StashKey[Settings]()
_LEDGER = pytest.StashKey[CreditLedger]()
_TRAFFIC = pytest.StashKey[Traffic]()
_PROBES = pytest.StashKey[ValidationProbes]()
_STARTED = pytest.StashKey[float]()
_SENT_BEFORE = pytest.StashKey[int]()


# --- configuration -----------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(clause_id): the contract clause a test checks")
    config.addinivalue_line("markers", f"{PROPERTY}: schemathesis layer (runs last)")
    config.addinivalue_line("markers", f"{EXHAUSTS}: drives the per-minute limit to 429")
    config.addinivalue_line("markers", f"{RECOVERY}: waits for the driven limit to lift")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise pytest.UsageError(f"contract suite: {exc}") from None
    config.stash[_SETTINGS] = settings
    config.stash[_LEDGER] = CreditLedger(settings.credit_budget)
    config.stash[_TRAFFIC] = Traffic()
    config.stash[_STARTED] = time.monotonic()
    VERDICT.profile = settings.profile


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Only the selected clauses (``CBK_CLAUSES``), in the order that wastes least of a
    deployment's per-minute windows:

    1. driving CBK_API_KEY to its 429 — while its window is still full, so none is waited for;
    2. tests that need only *a* key: while CBK_API_KEY's window is empty they use the other;
    3. tests of CBK_API_KEY itself (its window has reset by then, or they wait for it);
    4. fuzzing, with whatever credit budget the behaviour tests left;
    5. the request after the 429's retry-after, long since sent by a timer: only its verdict.
    """
    wanted = config.stash[_SETTINGS].clauses
    if wanted:
        deselected = [i for i in items if (c := clause_of(i)) is not None and c.id not in wanted]
        if deselected:
            config.hook.pytest_deselected(items=deselected)
            items[:] = [i for i in items if i not in deselected]
    for item in items:
        found = clause_of(item)
        if found is not None:
            item.user_properties.append((CLAUSE_PROPERTY, found.id))
            item.user_properties.append((SOURCE_PROPERTY, found.source))

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker(RECOVERY):
            return 5
        if item.get_closest_marker(PROPERTY):
            return 4
        if item.get_closest_marker(EXHAUSTS):
            return 1
        return 3 if _MAIN_KEY_FIXTURES & set(getattr(item, "fixturenames", ())) else 2

    items.sort(key=rank)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """A bare failure in a test breaks the test's own clause: a ContractViolation — or, for a
    decision under ``--profile page``, a warning, and the test passes."""
    found = clause_of(item)
    VERDICT.begin(found)
    try:
        return (yield)
    except (AssertionError, pytest.fail.Exception) as error:
        if found is None or isinstance(error, ContractViolation):
            raise
        detail = str(error)
        try:
            VERDICT.broken(None, detail)
        except ContractViolation as violation:
            raise violation.with_traceback(error.__traceback__) from None
        return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """The warnings and the broken clause of a test, as properties of its report and (for
    JUnit, which reads the item's) of the item."""
    report = yield
    found: list[tuple[str, str]] = []
    if call.when == "call":
        for deviation in VERDICT.end():
            first = deviation.detail.splitlines()[0][:300]
            found.append((WARNING_PROPERTY, f"[{deviation.clause.id}] {first}"))
    if call.excinfo is not None and isinstance(call.excinfo.value, ContractViolation):
        found.append((VIOLATION_PROPERTY, call.excinfo.value.clause.id))
    if call.when == "teardown" and _SENT_BEFORE in item.stash:
        sent = item.config.stash[_TRAFFIC].total - item.stash[_SENT_BEFORE]
        found.append((REQUESTS_PROPERTY, str(sent)))
    report.user_properties.extend(found)
    item.user_properties.extend(found)
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_SENT_BEFORE] = item.config.stash[_TRAFFIC].total


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[_SETTINGS]


@pytest.fixture(scope="session")
def ledger(pytestconfig: pytest.Config) -> CreditLedger:
    return pytestconfig.stash[_LEDGER]


@pytest.fixture(scope="session")
def lifeline(pytestconfig: pytest.Config) -> LifeLine:
    """Lines written past pytest's output capture, so a CI log shows them as they happen."""
    capture = pytestconfig.pluginmanager.getplugin("capturemanager")
    reporter = pytestconfig.pluginmanager.getplugin("terminalreporter")
    if capture is None or reporter is None:
        return LifeLine()

    def write(line: str) -> None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)

    return LifeLine(write)


@pytest.fixture(scope="session")
def throttle(lifeline: LifeLine) -> Throttle:
    return Throttle(lifeline)


@pytest.fixture(scope="session")
def traffic(pytestconfig: pytest.Config) -> Traffic:
    return pytestconfig.stash[_TRAFFIC]


@pytest.fixture(scope="session")
def policy(throttle: Throttle, ledger: CreditLedger, traffic: Traffic) -> SendPolicy:
    return SendPolicy(throttle, ledger, traffic=traffic)


@pytest.fixture(scope="session")
def target(settings: Settings) -> Iterator[Target]:
    with open_target(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def api(target: Target, policy: SendPolicy) -> Iterator[Api]:
    client = Api(target.url, policy=policy, verify=target.verify)
    if not target.local:
        _check_reachable(client, target)
    yield client
    client.close()


def _check_reachable(client: Api, target: Target) -> None:
    """Stop at once, with the reason, when the deployment or its key cannot be used at all."""
    try:
        answer = client.get_story(str(uuid.uuid4()), key=target.main_account().key)
    except httpx.HTTPError as exc:
        pytest.exit(f"cannot reach {target.url}: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    if answer.status in (401, 403):
        pytest.exit(
            f"{API_KEY} was refused by {target.url} ({answer.status} {answer.code}): "
            "the suite needs a Pro or Premium key",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture
def account(target: Target) -> Account:
    """The test's Pro/Premium account: on the mock a fresh user, so every test has a rate
    window of its own; on a deployment CBK_API_KEY, shared and throttled."""
    return target.main_account()


@pytest.fixture
def spare_account(target: Target, throttle: Throttle) -> Account:
    """A Pro/Premium account for a test that only needs *a* key: on the mock a fresh user (a
    rate window of its own); on a deployment whichever of CBK_API_KEY and CBK_API_KEY_OTHER has
    more requests left this minute."""
    return target.main_account() if target.local else target.spare_account(throttle)


@pytest.fixture(scope="module")
def module_account(target: Target) -> Account:
    """An account shared by a module's tests (the owner of the book they all read)."""
    return target.main_account()


@pytest.fixture(scope="module")
def other_account(target: Target) -> Account:
    return target.other_account()


@pytest.fixture(scope="module")
def free_account(target: Target) -> Account:
    return target.free_account()


@pytest.fixture(scope="module")
def revoked_account(target: Target) -> Account:
    return target.revoked_account()


@pytest.fixture
def plan_limit(target: Target) -> int | None:
    """The documented per-minute limit when the plan is known (CBK_PLAN, or the mock's users)."""
    return SPEC.plans[target.plan].requests_per_minute if target.plan else None


@pytest.fixture(scope="session")
def validation(
    pytestconfig: pytest.Config,
    api: Api,
    target: Target,
    throttle: Throttle,
    ledger: CreditLedger,
) -> ValidationProbes:
    """Validation probes under the strategy a first, free probe of the target chose."""

    def key_for() -> str:
        return target.spare_account(throttle).key

    probes = ValidationProbes(api, ledger, calibrate(api, key_for()), key_for)
    pytestconfig.stash[_PROBES] = probes
    return probes


@pytest.fixture(scope="session")
def _book_runs() -> dict[str, BookRun]:
    return {}


@pytest.fixture
def book_run(
    api: Api,
    module_account: Account,
    settings: Settings,
    ledger: CreditLedger,
    _book_runs: dict[str, BookRun],
) -> BookRun:
    """One book per account, created and watched to its end, shared by the tests that read it."""
    if module_account.key not in _book_runs:
        body = valid_body()
        ledger.reserve(body["pageCount"], "creating and watching a book")
        _book_runs[module_account.key] = follow(api, module_account, body, settings.job_timeout)
    return _book_runs[module_account.key]


# --- reporting ---------------------------------------------------------------------------------
#: clause id → [(outcome, node id, note)] of the current run.
_OUTCOMES: dict[str, list[tuple[str, str, str]]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _OUTCOMES.clear()


def _text_properties(report: pytest.TestReport) -> list[tuple[str, str]]:
    """The report's properties with text values: all the suite's own are text, and another
    plugin may add any object."""
    return [(name, value) for name, value in report.user_properties if isinstance(value, str)]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = _text_properties(report)
    clause_id = dict(properties).get(CLAUSE_PROPERTY)
    if clause_id is None:
        return
    for name, value in properties:
        if name == WARNING_PROPERTY and report.when == "call":
            warned = value[1 : value.index("]")]
            _OUTCOMES.setdefault(warned, []).append(("warned", report.nodeid, value))
    if report.when != "call" and report.passed:
        return
    reason = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
    outcome = "error" if report.failed and report.when != "call" else report.outcome
    broken = dict(properties).get(VIOLATION_PROPERTY, clause_id) if report.failed else clause_id
    _OUTCOMES.setdefault(broken, []).append((outcome, report.nodeid, reason))


def _verdict(results: list[tuple[str, str, str]]) -> tuple[str, str]:
    failed = [node for outcome, node, _ in results if outcome in ("failed", "error")]
    if failed:
        return "FAIL", f"{len(failed)} failing, e.g. {failed[0].split('::')[-1]}"
    warned = [(node, note) for outcome, node, note in results if outcome == "warned"]
    if warned:
        node, note = warned[0]
        return "WARN", f"{len(warned)} warning(s), e.g. {node.split('::')[-1]}: {note[:160]}"
    if any(outcome == "passed" for outcome, _, _ in results):
        return "PASS", ""
    return "SKIP", next(reason for outcome, _, reason in results if outcome == "skipped")


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """One line per clause the run touched — PASS, FAIL, WARN (a broken decision under
    ``--profile page``) or SKIP, with its source — then what the run cost."""
    if not _OUTCOMES:
        return
    write = terminalreporter.write_line
    settings = config.stash[_SETTINGS]
    terminalreporter.section(f"ChildrenBooks API contract · profile {settings.profile}")
    counts = {"PASS": 0, "FAIL": 0, "WARN": 0, "SKIP": 0}
    for clause_id, found in CLAUSES.items():
        if clause_id not in _OUTCOMES:
            continue
        status, note = _verdict(_OUTCOMES[clause_id])
        counts[status] += 1
        line = f"{status}  {found.source:<8} {clause_id:<28} {found.title}"
        write(
            f"{line}  — {note}" if note else line,
            red=status == "FAIL",
            yellow=status in ("SKIP", "WARN"),
        )
    if _PROBES in config.stash:
        write(config.stash[_PROBES].describe())
    write(
        f"clauses: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['WARN']} warned, "
        f"{counts['SKIP']} skipped · target: {settings.base_url or 'the local mock'}"
    )
    elapsed = time.monotonic() - config.stash[_STARTED]
    write(
        f"time to verdict: {elapsed:.0f} s · {config.stash[_TRAFFIC].describe()} · "
        f"{config.stash[_LEDGER].describe()}"
    )

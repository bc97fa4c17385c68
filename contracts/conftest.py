"""The contract suite's fixtures and reporting.

Target selection, keys and budgets come from ``CBK_*`` variables (``contracts.settings``). Every
test names the clause it checks (``contracts.clauses.clause``); a failure message starts with that
clause's text and the run ends with a one-screen table of clauses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from contracts.budget import CreditLedger
from contracts.clauses import CLAUSES, MARKER, ContractViolation, clause_of
from contracts.client import SPEC, Api
from contracts.control import Account
from contracts.jobs import BookRun, follow, valid_body
from contracts.settings import API_KEY, Settings, SettingsError
from contracts.target import Target, open_target
from contracts.throttle import Throttle

PROPERTY = "cbk_property"
EXHAUSTS = "cbk_exhausts_limit"
_CLAUSE_PROPERTY = "contract_clause"
_SETTINGS = pytest.StashKey[Settings]()
_LEDGER = pytest.StashKey[CreditLedger]()


# --- configuration -----------------------------------------------------------------------------
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}(clause_id): the contract clause a test checks")
    config.addinivalue_line("markers", f"{PROPERTY}: schemathesis layer (runs last)")
    config.addinivalue_line("markers", f"{EXHAUSTS}: drives the per-minute limit to 429")
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        raise pytest.UsageError(f"contract suite: {exc}") from None
    config.stash[_SETTINGS] = settings
    config.stash[_LEDGER] = CreditLedger(settings.credit_budget)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Fuzzing and limit exhaustion run last: behaviour tests get the credit budget first, and
    nothing waits for a window that a test emptied on purpose."""
    for item in items:
        found = clause_of(item)
        if found is not None:
            item.user_properties.append((_CLAUSE_PROPERTY, found.id))

    def rank(item: pytest.Item) -> int:
        if item.get_closest_marker(PROPERTY):
            return 2
        return 1 if item.get_closest_marker(EXHAUSTS) else 0

    items.sort(key=rank)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    try:
        return (yield)
    except AssertionError as error:
        found = clause_of(item)
        if found is None or isinstance(error, ContractViolation):
            raise
        raise ContractViolation.of(found, error).with_traceback(error.__traceback__) from None


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[_SETTINGS]


@pytest.fixture(scope="session")
def ledger(pytestconfig: pytest.Config) -> CreditLedger:
    return pytestconfig.stash[_LEDGER]


@pytest.fixture(scope="session")
def throttle() -> Throttle:
    return Throttle()


@pytest.fixture(scope="session")
def target(settings: Settings) -> Iterator[Target]:
    with open_target(settings) as opened:
        yield opened


@pytest.fixture(scope="session")
def api(target: Target, throttle: Throttle, ledger: CreditLedger) -> Iterator[Api]:
    client = Api(target.url, throttle=throttle, ledger=ledger, verify=target.verify)
    if not target.local:
        _check_reachable(client, target)
    yield client
    client.close()


def _check_reachable(client: Api, target: Target) -> None:
    """Stop at once, with the reason, when the deployment or its key cannot be used at all."""
    try:
        reply = client.get_story(str(uuid.uuid4()), key=target.main_account().key)
    except httpx.HTTPError as exc:
        pytest.exit(f"cannot reach {target.url}: {exc}", returncode=pytest.ExitCode.USAGE_ERROR)
    if reply.status in (401, 403):
        pytest.exit(
            f"{API_KEY} was refused by {target.url} ({reply.status} {reply.code}): "
            "the suite needs a Pro or Premium key",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture
def account(target: Target) -> Account:
    """The test's Pro/Premium account: on the mock a fresh user, so every test has a rate
    window of its own; on a deployment CBK_API_KEY, shared and throttled."""
    return target.main_account()


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
def _book_runs() -> dict[str, BookRun]:
    return {}


@pytest.fixture
def book_run(
    api: Api, module_account: Account, settings: Settings, ledger: CreditLedger, _book_runs
) -> BookRun:
    """One book per account, created and watched to its end, shared by the tests that read it."""
    if module_account.key not in _book_runs:
        body = valid_body()
        ledger.reserve(body["pageCount"], "creating and watching a book")
        _book_runs[module_account.key] = follow(api, module_account, body, settings.job_timeout)
    return _book_runs[module_account.key]


# --- reporting ---------------------------------------------------------------------------------
#: clause id → [(outcome, node id, skip reason)] of the current run.
_OUTCOMES: dict[str, list[tuple[str, str, str]]] = {}


def pytest_sessionstart(session: pytest.Session) -> None:
    _OUTCOMES.clear()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    clause_id = dict(report.user_properties).get(_CLAUSE_PROPERTY)
    if clause_id is None or (report.when != "call" and report.passed):
        return
    reason = ""
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = report.longrepr[2].removeprefix("Skipped: ")
    outcome = "error" if report.failed and report.when != "call" else report.outcome
    _OUTCOMES.setdefault(clause_id, []).append((outcome, report.nodeid, reason))


def _verdict(results: list[tuple[str, str, str]]) -> tuple[str, str]:
    failed = [node for outcome, node, _ in results if outcome in ("failed", "error")]
    if failed:
        return "FAIL", f"{len(failed)} failing, e.g. {failed[0].split('::')[-1]}"
    if any(outcome == "passed" for outcome, _, _ in results):
        return "PASS", ""
    return "SKIP", next(reason for outcome, _, reason in results if outcome == "skipped")


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """One line per clause the run touched: PASS, FAIL (with a failing test) or SKIP (why)."""
    if not _OUTCOMES:
        return
    write = terminalreporter.write_line
    terminalreporter.section("ChildrenBooks API contract")
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for clause_id, found in CLAUSES.items():
        if clause_id not in _OUTCOMES:
            continue
        status, note = _verdict(_OUTCOMES[clause_id])
        counts[status] += 1
        line = f"{status}  {clause_id:<26} {found.title}"
        write(f"{line}  — {note}" if note else line, red=status == "FAIL", yellow=status == "SKIP")
    settings = config.stash[_SETTINGS]
    write(
        f"clauses: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"
        f" · target: {settings.base_url or 'the local mock'} · {config.stash[_LEDGER].describe()}"
    )

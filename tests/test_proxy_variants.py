"""``cbk-mock proxy`` and ``cbk-mock parity`` in front of the correct servers of
``tests.variants``, which differ from the mock only where the page allows: the proxy must not
flag them, their recordings must be normalised like the mock's, and parity must name how they
differ from the mock so that ``--ignore`` can absorb it (``DIFFERENCES``).

Every variant runs, each behind its own proxy, first with the variant's evidence from
``tests/test_contract_variants.py`` — which asserts that its difference shows through the
proxy: traffic that never triggered the difference would prove nothing — then with the
standard traffic of ``tests.proxy_kit`` (its reset makes that a second session and cassette).

A variant that only ``--profile page`` allows (``Variant.warns``) runs behind ``cbk-mock proxy
--profile page``: it must fail nothing, and what it breaks must be its decision clause alone,
reported as a warning (under the default ``decisions`` profile that clause fails it, as
``replay-without-header``, one of the proxy's own mutants, shows in ``tests/test_proxy.py``).

The runs start, two at a time, when the module begins; parity replays each variant's
recordings once, in-process.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from contracts.clauses import PAGE
from mockserver.clause_ids import ClauseId
from mockserver.proxy import parity
from mockserver.proxy.recording import Cassette
from tests.mutants.runner import WORKERS
from tests.proxy_kit import ProxiedRun, proxied_run, variant_command
from tests.test_contract_variants import EVIDENCE
from tests.variants import VARIANTS

PAGE_ONLY = sorted(name for name, found in VARIANTS.items() if found.profiles == (PAGE,))


def proxy_warns(name: str) -> set[str]:
    """The warnings a page-only variant must get from the proxy: its decision clauses that the
    proxy judges."""
    return set(VARIANTS[name].warns) & {clause.value for clause in ClauseId}


BOTH_PROFILES = sorted(set(VARIANTS) - set(PAGE_ONLY))
#: What parity names when it replays each variant's recordings against the mock, as the
#: ``--ignore`` patterns that absorb it. Nothing where a client cannot tell the two apart (a
#: message's wording, a request id's format, a null left out); for the page-only variants, the
#: decision they depart from.
DIFFERENCES: dict[str, tuple[str, ...]] = {
    "additive-fields": (
        "body.data.estimatedSeconds",
        "body.data.links",
        "body.data.pages[].height",
        "body.data.pages[].width",
        "body.data.queuePosition",
        "body.data.wordCount",
    ),
    "body-before-key": ("body.error.fields.*",),
    "key-before-body": ("body.error.fields.*",),
    "key-and-body-merged": (),
    "nulls-omitted": (),
    "other-error-messages": (),
    # While a book is in progress the mock is a read ahead: fields it has already filled in.
    "pages-in-bursts": (
        "lifecycle *",
        "body.data.coverImage",
        "body.data.slug",
        "body.data.storageProvider",
        "body.data.summary",
        "body.data.title",
    ),
    "ulid-request-ids": (),
    "windows-from-first-request": ("body.error.meta",),  # "optional extra context"
    "405-without-allow": ("headers.allow",),
    "non-uuid-id-is-404": ("status", "error.code", "body.error.fields"),
    "replay-without-header": ("headers.idempotent-replayed",),
}
GENERATED_REQUEST_ID = re.compile(r"<request:\d+>")


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Future[ProxiedRun]]]:
    workdir = Path(tempfile.mkdtemp(prefix="cbk-proxy-variants-"))
    pool = ThreadPoolExecutor(WORKERS)
    futures = {}
    for name in sorted(VARIANTS):
        (workdir / name).mkdir()
        command = variant_command(name)
        profile = ("--profile", PAGE) if name in PAGE_ONLY else ()
        futures[name] = pool.submit(
            proxied_run, workdir / name, command, first=EVIDENCE[name], proxy_args=profile
        )
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)
    shutil.rmtree(workdir, ignore_errors=True)


def run_of(runs: dict[str, Future[ProxiedRun]], name: str) -> ProxiedRun:
    return runs[name].result(timeout=300)


def test_every_variant_has_its_parity_differences_listed() -> None:
    assert set(DIFFERENCES) == set(VARIANTS)


# --- the proxy ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", BOTH_PROFILES)
def test_proxy_reports_no_violation_for_a_variant_both_profiles_allow(runs, name: str) -> None:
    run = run_of(runs, name)
    assert (run.exit_code, run.report["violations"]) == (0, []), run.log[-3000:]


@pytest.mark.parametrize("name", PAGE_ONLY)
def test_proxy_fails_no_page_only_variant_under_the_page_profile(runs, name: str) -> None:
    run = run_of(runs, name)
    assert (run.exit_code, run.report["violationCounts"]) == (0, {}), run.log[-3000:]


@pytest.mark.parametrize("name", PAGE_ONLY)
def test_proxy_warns_a_page_only_variant_on_its_decision_alone(runs, name: str) -> None:
    run = run_of(runs, name)
    assert run.warned == proxy_warns(name), run.report["warningCounts"]
    assert all(v["warning"] for v in run.report["violations"])


@pytest.mark.parametrize("name", PAGE_ONLY)
def test_junit_passes_a_page_only_variant_s_decision_with_its_warning(runs, name: str) -> None:
    suite = ElementTree.fromstring(run_of(runs, name).junit)
    warned = {
        case.get("name"): case.find("properties/property[@name='contract_warning']")
        for case in suite.findall("testcase")
        if case.find("system-out") is not None
    }
    assert suite.get("failures") == "0"
    assert suite.findall("testcase/failure") == []
    assert set(warned) == proxy_warns(name)
    assert all(prop is not None for prop in warned.values())


# --- recordings ----------------------------------------------------------------------------
def _cassettes(run: ProxiedRun) -> list[Cassette]:
    return [Cassette.load(path) for path in run.cassettes]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_recording_holds_every_exchange_a_variant_answered(runs, name: str) -> None:
    run = run_of(runs, name)
    cassettes = _cassettes(run)
    assert len(cassettes) == 2  # the evidence's session, the standard traffic's
    assert sum(len(c.exchanges) for c in cassettes) == run.report["exchanges"]


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_a_request_id_the_variant_generated_is_recorded_as_a_placeholder(runs, name: str) -> None:
    """Whatever its format: raw generated ids would make every re-recording differ."""
    raw = [
        answered
        for cassette in _cassettes(run_of(runs, name))
        for exchange in cassette.exchanges
        if (answered := exchange["response"]["headers"].get("x-request-id"))
        != exchange["request"]["headers"].get("x-request-id")
        and not GENERATED_REQUEST_ID.fullmatch(str(answered))
    ]
    assert raw == []


# --- parity ----------------------------------------------------------------------------------
Replays = Callable[[str], list[parity.CassetteResult]]


@pytest.fixture(scope="module")
def replayed(runs) -> Replays:
    """Parity with a variant's ignore patterns, once per variant, on copies of its cassettes
    (left unsaved)."""
    done: dict[str, list[parity.CassetteResult]] = {}

    def replay(name: str) -> list[parity.CassetteResult]:
        if name not in done:
            cassettes = _cassettes(run_of(runs, name))
            for cassette in cassettes:
                cassette.path = None
            done[name] = asyncio.run(parity.verify(cassettes, ignore=DIFFERENCES[name]))
        return done[name]

    return replay


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_parity_finds_no_difference_but_those_listed(replayed: Replays, name: str) -> None:
    results = replayed(name)
    described = "\n".join(parity.describe(result) for result in results)
    assert [d for r in results for d in r.differences] == [], described


@pytest.mark.parametrize("name", sorted(n for n, patterns in DIFFERENCES.items() if patterns))
def test_each_listed_pattern_absorbs_a_difference_parity_names(
    replayed: Replays, name: str
) -> None:
    ignored = [d for r in replayed(name) for d in r.ignored]
    unused = [p for p in DIFFERENCES[name] if not any(d.ignored_by([p]) for d in ignored)]
    assert unused == [], sorted({d.what for d in ignored})

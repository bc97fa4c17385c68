"""Property layer: schemathesis generates requests from openapi.yaml — valid and invalid, every
phase — and checks each response against the spec with all its default checks (negative-data
rejection included) plus the contract's own (``contracts.fuzz``). The stateful run follows the
spec's link from a 202's ``bookId`` to ``GET /v1/stories/{id}``.

Against the local mock it runs on a mock of its own with raised plan limits: fuzzing must never
meet a 429, and no input may yield a 5xx or a body outside the envelope.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.core.failures import Failure, FailureGroup, ServerError

from contracts.clauses import clause
from contracts.expect import check
from contracts.fuzz import Fuzzing, ThrottledSession
from contracts.settings import BASE_URL, FUZZ_EXAMPLES, Settings
from contracts.target import open_target
from contracts.throttle import Throttle
from contracts.transport import SendPolicy
from mockserver.spec import spec_path

SCHEMA = schemathesis.openapi.from_path(str(spec_path()))
#: Examples per operation (fuzzing phase) and stateful scenarios: modest, for a deployment's
#: per-minute limit and the suite's time budget.
LOCAL = not os.environ.get(BASE_URL)
EXAMPLES = int(os.environ.get(FUZZ_EXAMPLES) or (150 if LOCAL else 15))
SCENARIOS = max(8, EXAMPLES // 3)
STATEFUL_STEPS = 6


def fuzz_settings(max_examples: int, **extra) -> settings:
    """Against a deployment nothing is shrunk: every shrinking step would be a request."""
    if not LOCAL:
        extra["phases"] = [Phase.explicit, Phase.generate, Phase.target]
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        **extra,
    )


@contextlib.contextmanager
def server_errors_break_the_page() -> Iterator[None]:
    """schemathesis' findings break ``schema.conformance`` (``openapi.yaml`` encodes the
    decisions), except a 5xx: that breaks ``schema.no-server-error``, a page clause, so a crash
    found only by fuzzing fails a ``--profile page`` gate too."""
    try:
        yield
    except (Failure, FailureGroup) as error:
        failures = error.exceptions if isinstance(error, FailureGroup) else (error,)
        crashes = [f for f in failures if isinstance(f, ServerError)]
        check("schema.no-server-error", not crashes, "\n".join(map(str, crashes)))
        raise AssertionError("\n\n".join(map(str, failures))) from error


@pytest.fixture(scope="session")
def fuzzing(settings: Settings, throttle: Throttle, policy: SendPolicy) -> Iterator[Fuzzing]:
    with open_target(settings, purpose="fuzz") as target:
        session = ThrottledSession(policy, target.url)

        def key_for() -> str:
            return target.spare_account(throttle).key

        try:
            yield Fuzzing(target.url, key_for, session, verify=target.verify)
        finally:
            session.close()


@pytest.mark.cbk_property
@clause("schema.conformance")
@SCHEMA.parametrize()
@fuzz_settings(EXAMPLES)
def test_every_response_conforms_to_the_contract(case: schemathesis.Case, fuzzing: Fuzzing) -> None:
    excluded = fuzzing.prepare(case)
    with server_errors_break_the_page():
        case.call_and_validate(excluded_checks=excluded, **fuzzing.call_kwargs())


@pytest.mark.cbk_property
@clause("schema.conformance")
def test_stateful_runs_follow_the_202_to_its_book(fuzzing: Fuzzing) -> None:
    excluded: dict[str, list] = {}

    # schemathesis builds the state machine class from the schema's links at run time, so
    # mypy cannot check a class derived from it.
    class Machine(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self.key = fuzzing.key_for()

        def before_call(self, case: schemathesis.Case) -> None:
            excluded[case.id] = fuzzing.prepare(case)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            return fuzzing.call_kwargs(self.key)

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            with server_errors_break_the_page():
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=excluded.pop(case.id, []),
                    transport_kwargs=kwargs,
                )

    Machine.run(settings=fuzz_settings(SCENARIOS, stateful_step_count=STATEFUL_STEPS))

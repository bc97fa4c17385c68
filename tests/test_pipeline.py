"""The public API's checks run in the order ``x-cbk.checkOrder`` states, composed in one place
(``mockserver.http.api``)."""

from __future__ import annotations

import pytest

from mockserver.core.config import MockConfig
from mockserver.core.runtime import build_service
from mockserver.http.gateway import Gateway
from mockserver.spec import load_spec

CHECK_ORDER = load_spec().rules["checkOrder"]


@pytest.fixture(scope="module")
def pipelines():
    return Gateway(build_service(MockConfig())).api.pipelines


def test_every_operation_with_a_check_order_has_a_pipeline(pipelines):
    assert set(pipelines) == set(CHECK_ORDER)


@pytest.mark.parametrize("operation_id", sorted(CHECK_ORDER))
def test_pipeline_checks_in_the_specs_check_order(pipelines, operation_id):
    assert pipelines[operation_id].check_order == CHECK_ORDER[operation_id]


@pytest.mark.parametrize("operation_id", sorted(CHECK_ORDER))
def test_forced_scenarios_come_before_any_check(pipelines, operation_id):
    first = pipelines[operation_id].steps[0]
    assert (first.name, first.checks) == ("forcedScenario", ())

"""What the suite runs against: a deployment named by ``CBK_BASE_URL`` with the keys it was
given, or a local mock it starts itself (``mockserver.testing.process.MockProcess``) with
fresh users from the mock's control API.

The local mock runs with the documented plan limits (the rate-limit tests need them), a short
page time and a per-address auth-failure guard high enough for the suite's deliberate 401s.
The property layer gets a mock of its own with raised limits, so fuzzing never meets a 429.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.control import Account, AccountControl
from contracts.settings import (
    API_KEY_FREE,
    API_KEY_OTHER,
    API_KEY_REVOKED,
    Settings,
    api_plans,
)
from contracts.throttle import Throttle

NEEDS_CONTROL_API = (
    "needs the local mock's control API (runs when CBK_BASE_URL is unset); "
    "a deployment offers no way to set this up"
)
#: Default plan of the users the suite creates on the local mock.
LOCAL_PLAN = "pro"
_PAGE_SECONDS = 0.1
_GUARD_HEADROOM = 1_000_000
_BEHAVIOUR_CONFIG: dict[str, Any] = {
    "pageSeconds": _PAGE_SECONDS,
    "authFailuresPerMinute": _GUARD_HEADROOM,
}
_FUZZ_PLAN = {
    "requestsPerMinute": _GUARD_HEADROOM,
    "booksPerDay": _GUARD_HEADROOM,
    "monthlyCredits": 10**12,
}


def _fuzz_config() -> dict[str, Any]:
    return {**_BEHAVIOUR_CONFIG, "plans": {name: dict(_FUZZ_PLAN) for name in api_plans()}}


class Target:
    """A base URL plus the accounts the suite may use there."""

    def __init__(
        self,
        url: str,
        settings: Settings,
        *,
        control: AccountControl | None = None,
        ca_file: Path | None = None,
    ) -> None:
        self.url = url
        self.settings = settings
        self.control = control
        self.verify: bool | str = str(ca_file) if ca_file else True
        self._spare: list[Account] | None = None

    @property
    def local(self) -> bool:
        return self.control is not None

    @property
    def plan(self) -> str | None:
        """The plan whose documented limits apply to ``main`` accounts (None: learn them)."""
        return self.settings.plan or (LOCAL_PLAN if self.local else None)

    # --- accounts ----------------------------------------------------------------------------
    def main_account(self) -> Account:
        """A Pro or Premium account: fresh on the mock, CBK_API_KEY on a deployment."""
        if self.control is not None:
            return self.control.create_user(self.plan or LOCAL_PLAN)
        assert self.settings.api_key is not None
        return Account(self.settings.api_key, self.settings.plan)

    def spare_accounts(self) -> list[Account]:
        """Accounts for requests that only need *a* Pro/Premium key (validation probes,
        unknown ids, request ids): on a deployment CBK_API_KEY and, when given,
        CBK_API_KEY_OTHER — two per-minute windows to spread the load over; on the mock one
        user of its own."""
        if self._spare is None:
            self._spare = [self.main_account()]
            if self.control is None and self.settings.api_key_other:
                self._spare.append(Account(self.settings.api_key_other))
        return self._spare

    def spare_account(self, throttle: Throttle) -> Account:
        """The spare account with the most requests left in its window (unknown: fresh)."""

        def room(candidate: Account) -> tuple[float, float]:
            left, resets_in = throttle.left(candidate.key)
            return (float("inf") if left is None else left, -resets_in)

        return max(self.spare_accounts(), key=room)

    def other_account(self) -> Account:
        if self.control is not None:
            return self.control.create_user(LOCAL_PLAN)
        return Account(self._given(self.settings.api_key_other, API_KEY_OTHER, "a second user"))

    def free_account(self) -> Account:
        if self.control is not None:
            return self.control.create_user("free")
        return Account(self._given(self.settings.api_key_free, API_KEY_FREE, "a Free-plan key"))

    def revoked_account(self) -> Account:
        if self.control is not None:
            return self.control.key_action(self.control.create_user(LOCAL_PLAN), "revoke")
        return Account(self._given(self.settings.api_key_revoked, API_KEY_REVOKED, "a revoked key"))

    @staticmethod
    def _given(value: str | None, variable: str, what: str) -> str:
        if value is None:
            pytest.skip(f"needs {what}: set {variable} to enable this test")
        return value

    def require_control(self) -> AccountControl:
        if self.control is None:
            pytest.skip(NEEDS_CONTROL_API)
        return self.control

    # --- time --------------------------------------------------------------------------------
    def pass_time(self, seconds: float) -> None:
        """Let ``seconds`` go by: the mock's clock is moved, a deployment is waited for."""
        if self.control is not None:
            self.control.advance_clock(seconds)
        else:
            time.sleep(seconds)


@contextlib.contextmanager
def local_mock(settings: Settings, config: dict[str, Any], *serve_args: str) -> Iterator[Target]:
    """Start the mock (or ``CBK_MOCK_COMMAND``) on a free port with ``config``."""
    from mockserver.testing.process import (
        MockProcess,  # the mock's own modules: only when it runs here
    )

    with tempfile.TemporaryDirectory(prefix="cbk-contracts-") as workdir:
        config_file = Path(workdir) / "mock.yaml"
        config_file.write_text(yaml.safe_dump(config))
        process = MockProcess(
            "--config",
            str(config_file),
            "--no-access-log",
            "--log-level",
            "WARNING",
            *serve_args,
            command=settings.mock_command,
        )
        with process as running:
            control = AccountControl(running.control())
            yield Target(running.url, settings, control=control, ca_file=running.ca_file)


@contextlib.contextmanager
def open_target(settings: Settings, *, purpose: str = "behaviour") -> Iterator[Target]:
    """``behaviour``: real limits; ``fuzz``: raised limits; ``manual-clock``: a frozen clock."""
    if not settings.local:
        assert settings.base_url is not None
        yield Target(settings.base_url, settings)
        return
    config = _fuzz_config() if purpose == "fuzz" else dict(_BEHAVIOUR_CONFIG)
    serve_args = ("--clock", "manual") if purpose == "manual-clock" else ()
    with local_mock(settings, config, *serve_args) as target:
        yield target

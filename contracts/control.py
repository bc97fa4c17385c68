"""The local mock's control API (``/_mock/``, see ``mockserver/control-api.yaml``), for the few
tests that need to set up what a real deployment offers no way to set up: exhausted quotas,
revoked keys, forced failures, a moved clock. Every other test works without it.

``AccountControl`` puts the mock's one control client (``mockserver.testing.sdk_kit``) in the
suite's terms: the ``Account`` a test acts with."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockserver.core.keys import mask
from mockserver.testing.sdk_kit import MockControl


@dataclass(frozen=True)
class Account:
    """An API key the suite acts with; user and key ids only when the mock issued it."""

    key: str = field(repr=False)
    plan: str | None = None
    user_id: str | None = None
    key_id: str | None = None

    def __repr__(self) -> str:
        return f"Account(key={mask(self.key)!r}, plan={self.plan!r}, user_id={self.user_id!r})"


class AccountControl:
    """The control operations the suite uses, on ``Account``s (``MockControlError`` when the
    mock refuses one)."""

    def __init__(self, control: MockControl) -> None:
        self.control = control

    def create_user(self, plan: str, *, monthly_credits: int | None = None) -> Account:
        data = self.control.create_user(plan, name="cbk-contracts", monthly_credits=monthly_credits)
        return Account(data["apiKey"], plan, data["userId"], data["keyId"])

    def key_action(self, account: Account, action: str) -> Account:
        """``revoke``, ``suspend``, ``unsuspend`` (the same account) or ``rotate`` (a new one)."""
        data = self.control.key_action(_known(account.key_id), action)
        if action == "rotate":
            return Account(data["apiKey"], account.plan, data["userId"], data["keyId"])
        return account

    def usage(self, account: Account) -> dict[str, int]:
        return self.control.usage(_known(account.user_id))

    def set_usage(self, account: Account, **usage: int) -> dict[str, int]:
        """``usage`` as the control API names it (``booksToday``, ``creditsUsed``)."""
        return self.control.call("PUT", f"users/{_known(account.user_id)}/usage", usage)

    def advance_clock(self, seconds: float) -> None:
        self.control.advance_clock(seconds)

    def queue_job(self, account: Account, **scenario: Any) -> None:
        self.control.force_scenario({"userId": account.user_id, **scenario})

    def queue_error(self, status: int, count: int = 1) -> None:
        self.control.queue_errors(status, count)

    def add_dashboard_book(self, account: Account, **fields: Any) -> dict[str, Any]:
        return self.control.add_dashboard_book(_known(account.user_id), **fields)


def _known(value: str | None) -> str:
    if value is None:
        raise ValueError("only accounts the mock issued have user and key ids")
    return value

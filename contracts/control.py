"""The local mock's control API (``/_mock/``, see ``mockserver/control-api.yaml``), for the few
tests that need to set up what a real deployment offers no way to set up: exhausted quotas,
revoked keys, forced failures, a moved clock. Every other test works without it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from mockserver.core.keys import mask


@dataclass(frozen=True)
class Account:
    """An API key the suite acts with; user and key ids only when the mock issued it."""

    key: str = field(repr=False)
    plan: str | None = None
    user_id: str | None = None
    key_id: str | None = None

    def __repr__(self) -> str:
        return f"Account(key={mask(self.key)!r}, plan={self.plan!r}, user_id={self.user_id!r})"


class ControlError(RuntimeError):
    pass


class MockControl:
    def __init__(self, base_url: str, admin_token: str) -> None:
        from mockserver.http.control import ADMIN_HEADER  # the mock's core: only when it runs here

        self.http = httpx.Client(
            base_url=f"{base_url}/_mock", headers={ADMIN_HEADER: admin_token}, timeout=30
        )

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        if response.status_code >= 300:
            raise ControlError(f"{method} /_mock{path} → {response.status_code} {response.text}")
        return response.json()["data"]

    def create_user(self, plan: str, *, monthly_credits: int | None = None) -> Account:
        body: dict[str, Any] = {"plan": plan, "name": "cbk-contracts"}
        if monthly_credits is not None:
            body["monthlyCredits"] = monthly_credits
        data = self._call("POST", "/users", body)
        return Account(data["apiKey"], plan, data["userId"], data["keyId"])

    def key_action(self, account: Account, action: str) -> Account:
        """``revoke``, ``suspend``, ``unsuspend`` (the same account) or ``rotate`` (a new one)."""
        data = self._call("POST", f"/keys/{account.key_id}/{action}")
        if action == "rotate":
            return Account(data["apiKey"], account.plan, data["userId"], data["keyId"])
        return account

    def usage(self, account: Account) -> dict[str, int]:
        return self._call("GET", f"/users/{account.user_id}/usage")

    def set_usage(self, account: Account, **usage: int) -> dict[str, int]:
        return self._call("PUT", f"/users/{account.user_id}/usage", usage)

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/clock/advance", {"seconds": seconds})

    def queue_job(self, account: Account, **scenario: Any) -> None:
        self._call("POST", "/scenarios", {"userId": account.user_id, **scenario})

    def queue_error(self, status: int, count: int = 1) -> None:
        self._call("POST", "/scenarios", {"error": status, "count": count})

    def add_dashboard_book(self, account: Account, **fields: Any) -> dict[str, Any]:
        return self._call("POST", f"/users/{account.user_id}/books", fields)

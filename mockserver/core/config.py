"""The mock's configuration: plans and limits from the spec, overridable from a YAML file."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mockserver.core.dev import DEFAULT_ADMIN_TOKEN
from mockserver.core.state.base import DEFAULT_REDIS_PREFIX
from mockserver.spec import Plan, load_spec

#: Exchanges the request journal keeps (``--journal-size``); 0 turns it off.
DEFAULT_JOURNAL_SIZE = 1000
MAX_JOURNAL_SIZE = 100_000
#: Generation time per page: fast by default; the realistic one matches the page's example.
DEFAULT_PAGE_SECONDS = 0.25
REALISTIC_PAGE_SECONDS = 13.0
#: Books kept before the oldest are evicted: a mock holding this many stays under about 1 GB
#: (docs/operations.md has the measured figures).
DEFAULT_MAX_BOOKS = 500_000
_PLAN_FIELDS = {
    "apiAccess": "api_access",
    "requestsPerMinute": "requests_per_minute",
    "booksPerDay": "books_per_day",
    "monthlyCredits": "monthly_credits",
}
_FIELDS = {
    "pageSeconds": "page_seconds",
    "clock": "clock",
    "clockStart": "clock_start",
    "adminToken": "admin_token",
    "seedDevUsers": "seed_dev_users",
    "authFailuresPerMinute": "auth_failures_per_minute",
    "suspendAfterRejectedPerMinute": "suspend_after_rejected",
    "validateResponses": "validate_responses",
    "scenarioHeader": "scenario_header",
    "redisUrl": "redis_url",
    "sharedRecords": "shared_records",
    "redisPrefix": "redis_prefix",
    "journalSize": "journal_size",
    "journalControl": "journal_control",
    "maxBooks": "max_books",
}


def _spec_plans() -> dict[str, Plan]:
    return dict(load_spec().plans)


@dataclass
class MockConfig:
    plans: dict[str, Plan] = field(default_factory=_spec_plans)
    page_seconds: float = DEFAULT_PAGE_SECONDS
    clock: str = "system"
    clock_start: float | None = None
    admin_token: str = DEFAULT_ADMIN_TOKEN
    seed_dev_users: bool = True
    #: Failed authentication attempts per client address and minute before 429 (None: no limit).
    auth_failures_per_minute: int | None = 120
    #: 429s per key and minute after which the key is suspended (None: never).
    suspend_after_rejected: int | None = None
    #: Check every response against openapi.yaml and answer 500 on a mismatch (tests).
    validate_responses: bool = False
    #: Honour the X-Mock-Scenario request header.
    scenario_header: bool = True
    #: Idempotency records and rate-limit counters in Redis (the API-side Redis of the page).
    redis_url: str | None = None
    #: Users, keys, books, usage and the clock in Redis too, so worker processes share them.
    shared_records: bool = False
    #: Namespace of the mock's keys in Redis; reset removes only keys under it.
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    #: The request journal keeps the newest this many exchanges (0: no journal).
    journal_size: int = DEFAULT_JOURNAL_SIZE
    #: Journal the control API's own calls too (``/_mock/…``), not only the public API's.
    journal_control: bool = False
    #: Books kept; past it the oldest are evicted with their idempotency records (then 404).
    max_books: int = DEFAULT_MAX_BOOKS

    def with_overrides(self, raw: dict[str, Any]) -> MockConfig:
        """Apply a YAML/JSON mapping in the spec's camelCase vocabulary."""
        unknown = set(raw) - set(_FIELDS) - {"plans"}
        if unknown:
            raise ValueError(f"unknown config keys: {', '.join(sorted(unknown))}")
        changes = {_FIELDS[k]: v for k, v in raw.items() if k in _FIELDS}
        plans = dict(self.plans)
        for name, overrides in (raw.get("plans") or {}).items():
            bad = set(overrides) - set(_PLAN_FIELDS)
            if bad:
                raise ValueError(f"unknown plan keys for {name}: {', '.join(sorted(bad))}")
            base = plans.get(name) or Plan(name, True, 0, 0, 0)
            plans[name] = dataclasses.replace(
                base, **{_PLAN_FIELDS[k]: v for k, v in overrides.items()}
            )
        return dataclasses.replace(self, plans=plans, **changes)

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> MockConfig:
        with open(path, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
        return dataclasses.replace(cls().with_overrides(raw), **overrides)

"""Where the suite points and what it may spend, read once from ``CBK_*`` environment variables.

``cbk-contracts`` maps its flags onto the same variables, so a CI job can use either.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from contracts.clauses import CLAUSES as CLAUSE_IDS
from contracts.verdict import LOCAL_PROFILE, PROFILES, REMOTE_PROFILE

BASE_URL = "CBK_BASE_URL"
API_KEY = "CBK_API_KEY"
API_KEY_OTHER = "CBK_API_KEY_OTHER"
API_KEY_FREE = "CBK_API_KEY_FREE"
API_KEY_REVOKED = "CBK_API_KEY_REVOKED"
PLAN = "CBK_PLAN"
CREDIT_BUDGET = "CBK_CREDIT_BUDGET"
ALLOW_LIMIT_EXHAUSTION = "CBK_ALLOW_LIMIT_EXHAUSTION"
JOB_TIMEOUT = "CBK_JOB_TIMEOUT"
PROFILE = "CBK_PROFILE"
#: Only the tests of these clauses (comma-separated ids): a quick re-check of one rule.
CLAUSES = "CBK_CLAUSES"
#: Test-only: the command that starts the local mock (the self-tests start patched ones).
MOCK_COMMAND = "CBK_MOCK_COMMAND"
#: Examples per operation of the property layer (default 150 locally, 15 against a deployment).
FUZZ_EXAMPLES = "CBK_FUZZ_EXAMPLES"

REMOTE_JOB_TIMEOUT = 900.0
LOCAL_JOB_TIMEOUT = 60.0


class SettingsError(ValueError):
    """A CBK_* variable holds a value the suite cannot use."""


def api_plans() -> tuple[str, ...]:
    """The plans whose keys may call the API (``pro``, ``premium``), from the spec."""
    from mockserver.spec import load_spec

    return tuple(name for name, plan in load_spec().plans.items() if plan.api_access)


@dataclass(frozen=True)
class Settings:
    base_url: str | None
    api_key: str | None = field(default=None, repr=False)
    api_key_other: str | None = field(default=None, repr=False)
    api_key_free: str | None = field(default=None, repr=False)
    api_key_revoked: str | None = field(default=None, repr=False)
    plan: str | None = None
    credit_budget: float = math.inf
    allow_limit_exhaustion: bool = True
    job_timeout: float = LOCAL_JOB_TIMEOUT
    profile: str = LOCAL_PROFILE
    clauses: frozenset[str] = frozenset()
    mock_command: tuple[str, ...] | None = None

    @property
    def local(self) -> bool:
        """True when the suite runs against a mock it starts itself."""
        return self.base_url is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def value(name: str) -> str | None:
            raw = env.get(name, "").strip()
            return raw or None

        base_url = value(BASE_URL)
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise SettingsError(f"{BASE_URL} must be an http(s) URL, got {base_url!r}")
            base_url = base_url.rstrip("/")
            if value(API_KEY) is None:
                raise SettingsError(
                    f"{BASE_URL} is set: {API_KEY} must hold a Pro or Premium key of the target"
                )
        plan = value(PLAN)
        if plan is not None and plan not in api_plans():
            raise SettingsError(f"{PLAN} must be one of {', '.join(api_plans())}, got {plan!r}")
        local = base_url is None
        profile = value(PROFILE) or (LOCAL_PROFILE if local else REMOTE_PROFILE)
        if profile not in PROFILES:
            raise SettingsError(f"{PROFILE} must be one of {', '.join(PROFILES)}, got {profile!r}")
        clauses = frozenset(c.strip() for c in (value(CLAUSES) or "").split(",") if c.strip())
        unknown = sorted(clauses - set(CLAUSE_IDS))
        if unknown:
            raise SettingsError(f"{CLAUSES} names unknown clauses: {', '.join(unknown)}")
        command = value(MOCK_COMMAND)
        return cls(
            base_url=base_url,
            api_key=value(API_KEY),
            api_key_other=value(API_KEY_OTHER),
            api_key_free=value(API_KEY_FREE),
            api_key_revoked=value(API_KEY_REVOKED),
            plan=plan,
            credit_budget=_number(value(CREDIT_BUDGET), CREDIT_BUDGET, math.inf if local else 0),
            allow_limit_exhaustion=local or value(ALLOW_LIMIT_EXHAUSTION) in ("1", "true", "yes"),
            job_timeout=_number(
                value(JOB_TIMEOUT), JOB_TIMEOUT, LOCAL_JOB_TIMEOUT if local else REMOTE_JOB_TIMEOUT
            ),
            profile=profile,
            clauses=clauses,
            mock_command=tuple(shlex.split(command)) if command else None,
        )


def _number(raw: str | None, name: str, default: float) -> float:
    if raw is None:
        return default
    try:
        number = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if number < 0 or math.isnan(number):
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return number

"""The keys a load test may use, and how the simulated users share them.

A keys file is JSON::

    {
      "fresh": false,
      "keys": [
        {"apiKey": "cbk_live_…", "role": "shared", "plan": "premium"},
        {"apiKey": "cbk_live_…", "role": "exclusive", "plan": "pro", "user": "acct-7"}
      ]
    }

``shared`` keys carry the pollers' and creators' traffic (several simulated users may use one);
``exclusive`` keys go to one simulated user each (the burst and auditor users), which spends the
key's per-minute budget on purpose. ``plan`` (optional) lets the auditor check that
``x-ratelimit-limit`` matches the plan in ``openapi.yaml``. The per-minute limit is per account:
keys of one account must name the same ``user``, and an exclusive key must be its account's
only key. ``fresh: true`` promises that no request used the keys in the current minute before
the run (the runner sets it for the users it creates), which makes the first window auditable.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mockserver.spec import load_spec

SHARED = "shared"
EXCLUSIVE = "exclusive"
ROLES = (SHARED, EXCLUSIVE)


@dataclass(frozen=True)
class KeyEntry:
    api_key: str
    role: str = SHARED
    plan: str | None = None
    user: str | None = None

    @property
    def bucket(self) -> str:
        """What the per-minute limit counts: the account, or the key when it is its own."""
        return self.user or self.api_key

    def to_json(self) -> dict[str, Any]:
        data = {"apiKey": self.api_key, "role": self.role, "plan": self.plan, "user": self.user}
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True)
class KeySet:
    keys: tuple[KeyEntry, ...]
    fresh: bool = False

    def with_role(self, role: str) -> list[KeyEntry]:
        return [k for k in self.keys if k.role == role]

    def to_json(self) -> dict[str, Any]:
        return {"fresh": self.fresh, "keys": [k.to_json() for k in self.keys]}

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")


def parse_keys(raw: Any) -> KeySet:
    """Validate a keys document; a ValueError names what is wrong."""
    if not isinstance(raw, dict) or not isinstance(raw.get("keys"), list):
        raise ValueError('a keys file is a JSON object with a "keys" list')
    plans = load_spec().plans
    entries = []
    for position, item in enumerate(raw["keys"]):
        where = f"keys[{position}]"
        if not isinstance(item, dict) or not isinstance(item.get("apiKey"), str):
            raise ValueError(f'{where}: an object with an "apiKey" string is expected')
        unknown = set(item) - {"apiKey", "role", "plan", "user"}
        if unknown:
            raise ValueError(f"{where}: unknown fields {', '.join(sorted(unknown))}")
        role = item.get("role", SHARED)
        if role not in ROLES:
            raise ValueError(f"{where}: role must be one of {', '.join(ROLES)}")
        plan = item.get("plan")
        if plan is not None and plan not in plans:
            raise ValueError(f"{where}: plan must be one of {', '.join(plans)}")
        entries.append(KeyEntry(item["apiKey"], role, plan, item.get("user")))
    if not entries:
        raise ValueError("the keys file holds no keys")
    return KeySet(tuple(entries), fresh=bool(raw.get("fresh", False)))


def load_keys(path: str | Path) -> KeySet:
    with open(path, encoding="utf-8") as fh:
        try:
            raw = json.load(fh)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc})") from None
    try:
        return parse_keys(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


class KeyPool:
    """This load process's share of the keys: exclusive keys are leased one per user, shared
    keys handed out in turn. Processes of a distributed run take disjoint slices, so every key
    (and the audit of its windows) lives in exactly one process."""

    def __init__(self, keys: KeySet, index: int = 0, count: int = 1) -> None:
        self.fresh = keys.fresh
        self._free = keys.with_role(EXCLUSIVE)[index::count]
        self._shared: Iterable[KeyEntry] = itertools.cycle(keys.with_role(SHARED)[index::count])

    def lease(self, role: str) -> KeyEntry | None:
        """A key for one simulated user; None when this process has none left to give."""
        if role == EXCLUSIVE:
            return self._free.pop(0) if self._free else None
        return next(iter(self._shared), None)

    def release(self, entry: KeyEntry) -> None:
        if entry.role == EXCLUSIVE:
            self._free.append(entry)

"""Users, plans and API keys. Keys exist here only as SHA-256 digests."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

from mockserver.core import keys
from mockserver.core.dev import DEV_USERS
from mockserver.core.errors import ApiError
from mockserver.core.ids import new_token
from mockserver.core.state.base import StateBackend
from mockserver.spec import Plan


def dev_keys() -> dict[str, str]:
    """The dev users' fixed keys by name, as the banner and ``--keys-file`` show them."""
    return {name: keys.dev_key(name) for name in DEV_USERS}


@dataclass(frozen=True)
class User:
    id: str
    name: str
    plan: str
    monthly_credits: int | None = None  # overrides the plan's quota when set

    @classmethod
    def from_record(cls, record: dict[str, object]) -> User:
        return cls(**record)  # type: ignore[arg-type]


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    user_id: str
    digest: str
    revoked: bool = False
    suspended: bool = False

    @classmethod
    def from_record(cls, record: dict[str, object]) -> KeyRecord:
        return cls(**record)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Subscriber:
    """A user and their plan: what quotas are computed from."""

    user: User
    plan: Plan

    @property
    def monthly_credits(self) -> int:
        if self.user.monthly_credits is not None:
            return self.user.monthly_credits
        return self.plan.monthly_credits


@dataclass(frozen=True)
class Principal(Subscriber):
    """A subscriber as authenticated by one of its keys, for one request."""

    key: KeyRecord


class Identity(NamedTuple):  # one per authenticated request: a tuple is cheapest
    """A presented key that matched a live key record, before its plan is checked."""

    digest: str
    key: KeyRecord
    user: User


@dataclass(frozen=True)
class IssuedKey:
    """A freshly issued key: the only moment the plain key exists on the server side."""

    user_id: str
    key_id: str
    api_key: str


class Accounts:
    def __init__(self, db: StateBackend, plans: dict[str, Plan]) -> None:
        self._db = db
        self.plans = plans
        #: The last principal admitted per key digest, reused while its key and user records
        #: are the same objects — so any write to either (revoke, suspend, plan) is seen.
        self._principals: dict[str, Principal] = {}

    # --- users ---------------------------------------------------------------------------
    async def create_user(
        self,
        plan: str,
        *,
        name: str | None = None,
        user_id: str | None = None,
        api_key: str | None = None,
        monthly_credits: int | None = None,
    ) -> IssuedKey:
        self._plan(plan)
        user = User(
            id=user_id or f"user_{new_token()}",
            name=name or plan,
            plan=plan,
            monthly_credits=monthly_credits,
        )
        await self._db.put(f"user:{user.id}", asdict(user))
        await self._db.add_member("users", user.id)
        return await self.issue_key(user.id, api_key=api_key)

    async def get_user(self, user_id: str) -> User:
        user = await self._db.load(f"user:{user_id}", User.from_record)
        if user is None:
            raise ApiError("NOT_FOUND", f"No user {user_id!r}.")
        return user

    async def update_user(
        self, user_id: str, *, plan: str | None = None, monthly_credits: int | None = None
    ) -> User:
        await self.get_user(user_id)
        changes: dict[str, object] = {}
        if plan is not None:
            target = self._plan(plan)
            changes["plan"] = plan
            if not target.api_access:  # "Downgrading to Free instantly revokes the key."
                for key_id in await self._db.members(f"user-keys:{user_id}"):
                    await self.set_key_flags(key_id, revoked=True)
        if monthly_credits is not None:
            changes["monthly_credits"] = monthly_credits
        merged = await self._db.merge(f"user:{user_id}", changes)
        if merged is None:  # removed meanwhile (a reset)
            raise ApiError("NOT_FOUND", f"No user {user_id!r}.")
        return User(**merged)

    async def subscriber(self, user_id: str) -> Subscriber:
        """The user and their plan, outside any request (the control API's usage view)."""
        user = await self.get_user(user_id)
        return Subscriber(user=user, plan=self._plan(user.plan))

    async def user_ids(self) -> list[str]:
        return await self._db.members("users")

    # --- keys ----------------------------------------------------------------------------
    async def issue_key(self, user_id: str, *, api_key: str | None = None) -> IssuedKey:
        user = await self.get_user(user_id)
        if not self._plan(user.plan).api_access and api_key is None:
            raise ApiError("PLAN_REQUIRED", "Free plans cannot issue API keys.")
        plain = api_key or keys.new_key()
        record = KeyRecord(key_id=f"key_{new_token()}", user_id=user_id, digest=keys.digest(plain))
        await self._db.put(f"key:{record.digest}", asdict(record))
        await self._db.put(f"key-id:{record.key_id}", record.digest)
        await self._db.add_member(f"user-keys:{user_id}", record.key_id)
        return IssuedKey(user_id=user_id, key_id=record.key_id, api_key=plain)

    async def key_record(self, key_id: str) -> KeyRecord:
        digest = await self._db.get(f"key-id:{key_id}")
        record = (
            None if digest is None else await self._db.load(f"key:{digest}", KeyRecord.from_record)
        )
        if record is None:
            raise ApiError("NOT_FOUND", f"No key {key_id!r}.")
        return record

    async def find_key(self, presented: str | None) -> KeyRecord | None:
        """The record of a presented key whatever its state (revoked, suspended), or None: the
        journal names the key a refused request used."""
        if not presented or not keys.well_formed(presented):
            return None
        return await self._db.load(f"key:{keys.digest(presented)}", KeyRecord.from_record)

    async def user_keys(self, user_id: str) -> list[KeyRecord]:
        return [await self.key_record(k) for k in await self._db.members(f"user-keys:{user_id}")]

    async def set_key_flags(
        self, key_id: str, *, revoked: bool | None = None, suspended: bool | None = None
    ) -> KeyRecord:
        """One atomic field update, so a revoke and a concurrent suspend both stick."""
        record = await self.key_record(key_id)
        flags = {"revoked": revoked, "suspended": suspended}
        changes = {name: value for name, value in flags.items() if value is not None}
        merged = await self._db.merge(f"key:{record.digest}", changes)
        if merged is None:  # removed meanwhile (a reset)
            raise ApiError("NOT_FOUND", f"No key {key_id!r}.")
        return KeyRecord(**merged)

    async def rotate(self, key_id: str) -> IssuedKey:
        """A new key for the same user; the old one stops working on the very next request."""
        old = await self.key_record(key_id)
        issued = await self.issue_key(old.user_id)
        await self.set_key_flags(key_id, revoked=True)
        return issued

    # --- authentication ------------------------------------------------------------------
    async def identify(self, presented: str | None) -> Identity:
        """The ``auth`` check: no key → UNAUTHORIZED; malformed, unknown or revoked →
        INVALID_API_KEY."""
        if presented is None:
            raise ApiError(
                "UNAUTHORIZED", "Missing API key: send x-api-key or Authorization: Bearer."
            )
        if not keys.well_formed(presented):
            raise ApiError("INVALID_API_KEY", "Invalid API key.")
        computed = keys.digest(presented)
        record = await self._db.load(f"key:{computed}", KeyRecord.from_record)
        if record is None or not keys.digests_equal(record.digest, computed) or record.revoked:
            raise ApiError("INVALID_API_KEY", "Invalid API key.")
        return Identity(computed, record, await self.get_user(record.user_id))

    def admit(self, identity: Identity) -> Principal:
        """The ``plan`` check: Free plan → PLAN_REQUIRED; a suspended key → FORBIDDEN."""
        known = self._principals.get(identity.digest)
        if known is not None and known.key is identity.key and known.user is identity.user:
            return known  # the very records it was admitted with (memory backend: unchanged)
        plan = self._plan(identity.user.plan)
        if not plan.api_access:
            raise ApiError("PLAN_REQUIRED", "The API requires a Pro or Premium plan.")
        if identity.key.suspended:
            raise ApiError("FORBIDDEN", "This API key is suspended after abusive traffic.")
        principal = Principal(user=identity.user, key=identity.key, plan=plan)
        self._principals[identity.digest] = principal
        return principal

    def _plan(self, name: str) -> Plan:
        if name not in self.plans:
            raise ApiError(
                "VALIDATION_ERROR",
                "Unknown plan.",
                fields={"plan": "Expected one of: " + ", ".join(self.plans)},
            )
        return self.plans[name]

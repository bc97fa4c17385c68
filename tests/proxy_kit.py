"""Running ``cbk-mock proxy`` for tests, and the standard traffic the proxy tests send through
it: create, poll to completion, replay, conflict, every error path, a failed job, a forced 5xx,
a 429 and its recovery — all on the mock's manual clock, moved through the proxy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mockserver.core.config import DEFAULT_PAGE_SECONDS
from mockserver.testing.process import MockProcess, ProxyProcess, RunningMock
from mockserver.testing.sdk_kit import LiveMock

BODY = {
    "storyIdea": "A little fox who learns to share carrots with forest friends.",
    "ageRange": "4-7",
    "style": "watercolor",
    "pageCount": 5,
    "tone": "heartwarming",
    "language": "english",
}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
UNKNOWN_KEY = "cbk_live_" + "unknownkey" * 3


@dataclass
class ProxiedRun:
    """What one run of the standard traffic through a proxy left behind."""

    exit_code: int
    report: dict[str, Any]
    live_report: dict[str, Any]
    junit: str
    log: str
    cassettes: list[Path] = field(default_factory=list)

    @property
    def clauses(self) -> set[str]:
        """The clauses that failed the run."""
        return set(self.report["violationCounts"])

    @property
    def warned(self) -> set[str]:
        """The clauses broken but only warned about (``--profile page``'s decision clauses)."""
        return set(self.report["warningCounts"])


def patched_command(kind: str, name: str) -> list[str]:
    """``python -m tests.KIND NAME``: the mock with one mutant's (``mutants``) or variant's
    (``variants``) patch applied."""
    return [sys.executable, "-m", f"tests.{kind}", name]


def mutant_command(name: str) -> list[str]:
    return patched_command("mutants", name)


def variant_command(name: str) -> list[str]:
    return patched_command("variants", name)


#: Traffic of its own sent through the proxy: a client on the proxy's URL, and the mock behind.
Traffic = Callable[[httpx.Client, RunningMock], None]


def proxied_run(
    workdir: Path,
    command: Sequence[str] | None = None,
    *,
    first: Traffic | None = None,
    proxy_args: Sequence[str] = (),
) -> ProxiedRun:
    """A mock (or the server ``command`` starts) on a manual clock, the proxy in front (with
    ``proxy_args`` too) recording to ``workdir/cassettes``, ``first`` (if given) and then the
    standard traffic through it, and what the proxy reported. The standard traffic starts with
    a reset, so ``first`` is a session, and a cassette, of its own."""
    report, junit, cassettes = workdir / "report.json", workdir / "junit.xml", workdir / "cassettes"
    with MockProcess("--clock", "manual", "--no-access-log", command=command) as mock:
        proxy = ProxyProcess(
            mock.url,
            *("--report", str(report), "--junitxml", str(junit), "--record", str(cassettes)),
            *proxy_args,
        )
        try:
            url = proxy.start()
            if first is not None:
                with httpx.Client(base_url=url, timeout=30) as client:
                    first(client, mock)
            standard_traffic(url)
            live = httpx.get(f"{url}/_proxy/report", timeout=10).json()["data"]
            code = proxy.stop()
            log = proxy.log
        finally:
            proxy.close()
    return ProxiedRun(
        code,
        json.loads(report.read_text()),
        live,
        junit.read_text(),
        log,
        sorted(cassettes.glob("*.cassette.yaml")),
    )


def standard_traffic(url: str, *, page_seconds: float = DEFAULT_PAGE_SECONDS) -> None:
    """Drive every kind of exchange through the proxy at ``url``. Nothing is asserted here: the
    proxy judges (against a broken mock, answers may be anything)."""
    mock = LiveMock(url)  # control calls too go through the proxy, which follows them
    mock.reset_state()
    keys = mock.keys
    pro = {"x-api-key": keys["pro"]}
    with httpx.Client(base_url=url, timeout=30) as http:
        idempotency = {"Idempotency-Key": str(uuid.uuid4())}
        created = http.post(
            "/v1/stories",
            json=BODY,
            headers={**pro, **idempotency, "X-Request-Id": "trace-create-1"},
        )
        book = _data(created).get("bookId", UNKNOWN_ID)
        _poll_to_the_end(http, mock, book, pro, page_seconds)
        http.get(f"/v1/stories/{book}", headers=pro)  # a finished book stays as it finished
        http.post("/v1/stories", json=BODY, headers={**pro, **idempotency})  # replay
        http.post("/v1/stories", json={**BODY, "pageCount": 6}, headers={**pro, **idempotency})
        _error_paths(http, keys, pro, book)
        failing = http.post(
            "/v1/stories", json=BODY, headers={**pro, "X-Mock-Scenario": "fail-at-page=2"}
        )
        _poll_to_the_end(http, mock, _data(failing).get("bookId", UNKNOWN_ID), pro, page_seconds)
        _limit_and_recovery(http, mock, book, pro)


def _poll_to_the_end(
    http: httpx.Client, mock: LiveMock, book: str, headers: dict[str, str], page_seconds: float
) -> None:
    for _ in range(40):
        status = _data(http.get(f"/v1/stories/{book}", headers=headers)).get("status")
        if status not in ("pending", "processing"):
            return
        mock.advance_clock(page_seconds)


def _error_paths(http: httpx.Client, keys: dict[str, str], pro: dict[str, str], book: str) -> None:
    json_type = {"content-type": "application/json"}
    http.post("/v1/stories", json=BODY)  # no key
    http.post("/v1/stories", json=BODY, headers={"x-api-key": UNKNOWN_KEY})
    http.get(f"/v1/stories/{book}", headers={"Authorization": f"Bearer {keys['revoked']}"})
    http.get(f"/v1/stories/{book}", headers={"x-api-key": keys["free"]})
    http.post("/v1/stories", content=b'{"storyIdea": ', headers={**pro, **json_type})
    http.post(
        "/v1/stories", content=json.dumps(BODY), headers={**pro, "content-type": "text/plain"}
    )
    http.post("/v1/stories", json={**BODY, "storyIdea": "short", "pageCount": 99}, headers=pro)
    http.post("/v1/stories", json=BODY, headers={**pro, "Idempotency-Key": "k" * 129})
    http.get("/v1/stories/not-a-uuid", headers=pro)
    http.get(f"/v1/stories/{UNKNOWN_ID}", headers=pro)
    http.get(f"/v1/stories/{book}", headers={"x-api-key": keys["other"]})
    http.get("/v1/unknown", headers=pro)
    http.delete("/v1/stories", headers=pro)
    http.get(f"/v1/stories/{book}", headers={**pro, "X-Request-Id": "x" * 65})
    http.get(f"/v1/stories/{book}", headers={**pro, "X-Mock-Scenario": "error=503"})


def _limit_and_recovery(
    http: httpx.Client, mock: LiveMock, book: str, headers: dict[str, str]
) -> None:
    for _ in range(250):
        answer = http.get(f"/v1/stories/{book}", headers=headers)
        if answer.status_code == 429:
            break
    retry_after = answer.headers.get("retry-after", "")
    mock.advance_clock(int(retry_after) if retry_after.isdigit() and int(retry_after) else 60)
    http.get(f"/v1/stories/{book}", headers=headers)


def _data(answer: httpx.Response) -> dict[str, Any]:
    try:
        data = answer.json().get("data")
    except (ValueError, AttributeError):
        return {}
    return data if isinstance(data, dict) else {}


def run_pytest(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
        check=False,
    )

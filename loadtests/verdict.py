"""Pass or fail a load run: any rate-limit contract violation, the error ratio and the p95
latency against thresholds. The verdict is written as JSON next to locust's reports."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from locust.stats import StatsEntry


@dataclass(frozen=True)
class Thresholds:
    #: Failed requests (errors and contract violations) per request.
    max_error_ratio: float = 0.01
    #: 95th percentile of the response time over all requests, milliseconds.
    max_p95_ms: float = 1000.0


def evaluate(total: StatsEntry, audit: dict[str, Any], thresholds: Thresholds) -> dict[str, Any]:
    violations = audit.get("violations", {})
    stats = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "errorRatio": round(total.fail_ratio, 5),
        "rps": round(total.total_rps, 1),
        "p50Ms": total.get_response_time_percentile(0.5),
        "p95Ms": total.get_response_time_percentile(0.95),
        "maxMs": round(total.max_response_time or 0, 1),
    }
    breaches = []
    if sum(violations.values()):
        names = "; ".join(f"{check} ×{count}" for check, count in sorted(violations.items()))
        breaches.append(f"rate-limit contract violated: {names}")
    if not total.num_requests:
        breaches.append("no request was made")
    if total.fail_ratio > thresholds.max_error_ratio:
        breaches.append(
            f"error ratio {total.fail_ratio:.2%} above {thresholds.max_error_ratio:.2%}"
        )
    if (stats["p95Ms"] or 0) > thresholds.max_p95_ms:
        breaches.append(f"p95 latency {stats['p95Ms']} ms above {thresholds.max_p95_ms:g} ms")
    return {
        "passed": not breaches,
        "breaches": breaches,
        "thresholds": asdict(thresholds),
        "stats": stats,
        "audit": audit,
    }


def write(verdict: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(verdict, indent=2) + "\n", encoding="utf-8")


def describe(verdict: dict[str, Any]) -> str:
    """A few lines for the terminal."""
    stats, audit = verdict["stats"], verdict["audit"]
    lines = [
        f"load run {'PASSED' if verdict['passed'] else 'FAILED'}: {stats['requests']} requests, "
        f"{stats['rps']} req/s, p50 {stats['p50Ms']} ms, p95 {stats['p95Ms']} ms, "
        f"error ratio {stats['errorRatio']:.2%}",
    ]
    counts = audit.get("counts", {})
    lines.append(
        f"  audited: {counts.get('counted', 0)} let through, {counts.get('rejected', 0)} "
        f"rate-limited, {counts.get('unaccounted', 0)} without rate headers; "
        f"{counts.get('windows audited for early 429s', 0)} windows with 429s checked; "
        f"{audit.get('processes', 1)} load process(es)"
    )
    for name, kinds in sorted(audit.get("byClass", {}).items()):
        shown = ", ".join(f"{kind} {count}" for kind, count in sorted(kinds.items()))
        lines.append(f"  {name or 'other'}: {shown}")
    lines += [f"  BREACH: {breach}" for breach in verdict["breaches"]]
    for check, examples in sorted(audit.get("examples", {}).items()):
        lines += [f"    {check}: {example}" for example in examples[:2]]
    return "\n".join(lines)

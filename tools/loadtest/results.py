"""What a run measured, and whether it passes: percentiles, error counts, the verdict.

Pure functions over the requests a run recorded, so that the rules are tested on their own
(tests/tools/loadtest/test_results.py) and the Locust side only has to record samples.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tools.loadtest.model import OPERATIONS
from tools.loadtest.thresholds import Thresholds

ALL = "all"
# An operation's own p95 is judged from this many requests on; below it one slow request
# decides the figure, and the operation still counts in the p95 of all requests.
MIN_SAMPLES_PER_OPERATION = 20
# The process's exit codes.
PASSED, FAILED, USAGE, INVALID = 0, 1, 2, 3


@dataclass(frozen=True)
class Sample:
    operation: str
    # The HTTP status; 0 when no answer came (connection refused or reset, timeout).
    status: int
    milliseconds: float

    @property
    def server_error(self) -> bool:
        """5xx, or no answer at all: the caller got nothing it could use."""
        return self.status >= 500 or self.status == 0

    @property
    def client_error(self) -> bool:
        return 400 <= self.status < 500


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least ``fraction`` of the values at or below it."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    operation: str
    requests: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    server_errors: int
    # Other failures by HTTP status (4xx).
    client_errors: dict[int, int]


def _summary(operation: str, samples: Sequence[Sample]) -> Summary:
    # A request that got no answer has no response time: it counts as an error only.
    times = [s.milliseconds for s in samples if s.status != 0]
    return Summary(
        operation=operation,
        requests=len(samples),
        p50_ms=percentile(times, 0.50),
        p95_ms=percentile(times, 0.95),
        p99_ms=percentile(times, 0.99),
        server_errors=sum(s.server_error for s in samples),
        client_errors=dict(sorted(Counter(s.status for s in samples if s.client_error).items())),
    )


def summarize(samples: Iterable[Sample]) -> list[Summary]:
    """One summary per operation that ran, in the model's order, then one of all requests."""
    every = list(samples)
    rows = [
        _summary(op, [s for s in every if s.operation == op])
        for op in OPERATIONS
        if any(s.operation == op for s in every)
    ]
    return [*rows, _summary(ALL, every)]


@dataclass(frozen=True)
class Verdict:
    # Thresholds the run exceeded: the environment does not meet its target.
    failures: tuple[str, ...]
    # Why the figures cannot be trusted either way (the run is not a measurement).
    invalid: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        if self.invalid:
            return INVALID
        return FAILED if self.failures else PASSED


def _client_error_reasons(statuses: dict[int, int]) -> list[str]:
    reasons = []
    for status, count in statuses.items():
        if status in (401, 403):
            hint = "the API refused the key: check OUTPOST_API_KEY and --auth"
        elif status == 429:
            hint = "throttled by the WAF's per-IP rate limit: run from more machines (--generators)"
        else:
            hint = "the API refused the request: the harness and the control plane disagree"
        reasons.append(f"{count} answers {status} ({hint})")
    return reasons


def judge(summaries: Sequence[Summary], thresholds: Thresholds, *, real_dispatches: int = 0) -> Verdict:
    """Compare the run with the thresholds; ``real_dispatches`` counts unconfirmed dry runs."""
    total = summaries[-1]
    failures: list[str] = []
    invalid: list[str] = []
    if total.requests == 0:
        return Verdict(failures=(), invalid=("no request was sent",))
    for row in summaries:
        judged = row.operation == ALL or row.requests >= MIN_SAMPLES_PER_OPERATION
        if judged and row.p95_ms > thresholds.p95_ms:
            failures.append(f"p95 of {row.operation} {row.p95_ms:.0f} ms > {thresholds.p95_ms:.0f} ms")
    fraction = total.server_errors / total.requests
    if fraction >= thresholds.server_error_fraction:
        failures.append(
            f"5xx or no answer {total.server_errors} of {total.requests} = {fraction:.3%} "
            f">= {thresholds.server_error_fraction:.3%}"
        )
    invalid.extend(_client_error_reasons(total.client_errors))
    if real_dispatches:
        invalid.append(f"{real_dispatches} dispatches were not confirmed as dry runs (cancelled at once)")
    return Verdict(failures=tuple(failures), invalid=tuple(invalid))


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}"


def render(summaries: Sequence[Summary]) -> str:
    """The table: p50/p95/p99 and errors per operation, then all requests."""
    header = f"{'operation':<18}{'requests':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'5xx':>6}  4xx"
    lines = [header]
    for row in summaries:
        fourxx = ", ".join(f"{status} x{count}" for status, count in row.client_errors.items()) or "0"
        lines.append(
            f"{row.operation:<18}{row.requests:>9}{_ms(row.p50_ms):>8}{_ms(row.p95_ms):>8}"
            f"{_ms(row.p99_ms):>8}{row.server_errors:>6}  {fourxx}"
        )
    return "\n".join(lines)


def render_verdict(verdict: Verdict) -> str:
    if verdict.invalid:
        return "result: INVALID: " + "; ".join([*verdict.invalid, *verdict.failures])
    if verdict.failures:
        return "result: FAIL: " + "; ".join(verdict.failures)
    return "result: PASS"

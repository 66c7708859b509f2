"""The load model: what "1,000 daily users and 100+ concurrent dispatches" means in requests.

Pure arithmetic, no I/O: the harness (``python -m tools.loadtest``), its help and
docs/loadtest.md all print the figures computed here, so they cannot disagree.

One simulated user of the harness holds one dispatch at a time (a closed model): it
dispatches, polls the status for as long as the dispatch is active, fetches the artifacts
and starts again. By Little's law, N such users keep N dispatches active and arrive at
N / (mean active time) dispatches per second; the model picks N from the daily traffic.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
# CloudWatch alarms of the Monitoring stack and the WAF rate limit both count per 5 minutes.
WINDOW_SECONDS = 300

# The seven operations the MCP tools call (shared reference: "The 7 operations").
DISPATCH = "dispatch"
STATUS = "status"
CANCEL = "cancel"
HEALTH = "health"
LIST_WORKSPACES = "list workspaces"
DELETE_WORKSPACE = "delete workspace"
ARTIFACTS = "artifacts"
OPERATIONS: tuple[str, ...] = (DISPATCH, STATUS, CANCEL, HEALTH, LIST_WORKSPACES, DELETE_WORKSPACE, ARTIFACTS)


@dataclass(frozen=True)
class LoadModel:
    """How the platform's users use the API on a busy day (the migration plan's target)."""

    daily_users: int = 1_000
    # A morning and an afternoon working session per user.
    sessions_per_user_per_day: int = 2
    # Jobs handed to an agent per session.
    dispatches_per_session: int = 2
    # The day's sessions fall in the ~6 hours where the team's working hours overlap: 24 / 6.
    peak_to_average: float = 4.0
    # How long a dispatch that runs to the end stays active (an agent's coding job).
    dispatch_seconds: float = 600.0
    # The MCP status tool's polling interval while a dispatch is active.
    status_poll_seconds: float = 15.0
    # One dispatch in this many is cancelled half-way through.
    cancel_every: int = 10
    # Each session starts with a health check and a workspace listing; every other session
    # also deletes a workspace.
    delete_every_sessions: int = 2
    # The target the migration plan sets; the model never asks for fewer.
    target_concurrent_dispatches: int = 100
    # The most dispatches one user (one API credential) keeps active at once: the MCP tools let
    # a user hand several jobs to agents side by side. Sizes the WAF's per-credential limit.
    dispatches_per_user_at_once: int = 3

    @property
    def dispatches_per_day(self) -> int:
        return self.daily_users * self.sessions_per_user_per_day * self.dispatches_per_session

    @property
    def peak_dispatches_per_second(self) -> float:
        return self.dispatches_per_day * self.peak_to_average / SECONDS_PER_DAY

    @property
    def mean_active_seconds(self) -> float:
        """Cancelled dispatches are active for half the time."""
        cancelled = 1 / self.cancel_every
        return self.dispatch_seconds * (1 - cancelled / 2)

    @property
    def concurrent_dispatches(self) -> int:
        """Little's law at peak, rounded up, and never below the target."""
        at_peak = math.ceil(self.peak_dispatches_per_second * self.mean_active_seconds)
        return max(at_peak, self.target_concurrent_dispatches)

    @property
    def dispatch_rate(self) -> float:
        """Dispatches per second that ``concurrent_dispatches`` users produce (>= the peak)."""
        return self.concurrent_dispatches / self.mean_active_seconds

    def per_dispatch(self) -> dict[str, float]:
        """Requests of each operation per dispatch, on average."""
        cancelled = 1 / self.cancel_every
        polls = (self.dispatch_seconds / self.status_poll_seconds) * (1 - cancelled / 2)
        sessions = 1 / self.dispatches_per_session
        return {
            DISPATCH: 1.0,
            STATUS: polls,
            CANCEL: cancelled,
            HEALTH: sessions,
            LIST_WORKSPACES: sessions,
            DELETE_WORKSPACE: sessions / self.delete_every_sessions,
            ARTIFACTS: 1.0,
        }

    def peak_rates(self) -> dict[str, float]:
        """Requests per second of each operation at peak."""
        return {op: n * self.dispatch_rate for op, n in self.per_dispatch().items()}

    @property
    def peak_requests_per_second(self) -> float:
        return sum(self.peak_rates().values())

    @property
    def peak_requests_per_window(self) -> float:
        """Requests in 5 minutes at peak: the unit of the 5xx alarm and of the WAF limit."""
        return self.peak_requests_per_second * WINDOW_SECONDS

    def credential_requests_per_window(self) -> float:
        """Requests in 5 minutes from the busiest credential: ``dispatches_per_user_at_once``
        dispatches, each polled through the whole window and replaced as it ends, plus its
        session's calls (the unit of the WAF's per-credential rate limit)."""
        per_dispatch = self.per_dispatch()
        per_dispatch_second = sum(per_dispatch.values()) / self.mean_active_seconds
        return self.dispatches_per_user_at_once * per_dispatch_second * WINDOW_SECONDS

    def scaled(self, factor: int) -> LoadModel:
        """The same model for ``factor`` times the daily users (10x: ``scaled(10)``)."""
        return dataclasses.replace(self, daily_users=self.daily_users * factor)

    def describe(self) -> str:
        """The model and its consequences, for ``--help`` and docs/loadtest.md."""
        rates = self.peak_rates()
        mix = ", ".join(f"{op} {rate:.3f}/s" for op, rate in rates.items())
        return "\n".join(
            (
                f"{self.daily_users:,} daily users x {self.sessions_per_user_per_day} sessions x "
                f"{self.dispatches_per_session} dispatches = {self.dispatches_per_day:,} dispatches a day.",
                f"Peak-to-average {self.peak_to_average:g}: {self.peak_dispatches_per_second:.3f} "
                f"dispatches/s at peak ({self.peak_dispatches_per_second * 3600:,.0f} an hour).",
                f"A dispatch stays active {self.dispatch_seconds:g} s (1 in {self.cancel_every} "
                f"cancelled half-way: mean {self.mean_active_seconds:g} s), "
                f"polled every {self.status_poll_seconds:g} s.",
                f"Little's law: {self.concurrent_dispatches:,} concurrent dispatches "
                f"(target {self.target_concurrent_dispatches}+), so {self.concurrent_dispatches:,} simulated "
                f"users each holding one, arriving at {self.dispatch_rate:.3f} dispatches/s.",
                f"Per session: 1 health, 1 list workspaces, 1/{self.delete_every_sessions} delete workspace; "
                f"per dispatch: its status polls, 1 artifacts, 1/{self.cancel_every} cancel.",
                f"Peak mix: {mix}.",
                f"Total: {self.peak_requests_per_second:.2f} requests/s, "
                f"{self.peak_requests_per_window:,.0f} per 5 minutes.",
            )
        )

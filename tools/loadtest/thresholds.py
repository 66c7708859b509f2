"""Pass/fail thresholds of a run, from the settings the Monitoring stack's alarms already use.

- Latency: ``monitoring.response_time_p95_ms``, the ``ResponseTimeP95`` alarm's threshold
  (it fires above it, so a p95 equal to it passes).
- Server errors: ``monitoring.http_5xx_per_5_minutes`` is a count per 5 minutes (the
  ``LoadBalancer5xx`` and ``Target5xx`` alarms, statistic Sum, period 300 s, firing when
  the count is reached). A count only means something at a given traffic, so it becomes a
  fraction of the traffic the alarms would see at the modeled peak: count / (peak requests
  per 5 minutes). A run whose 5xx fraction reaches it fails: at peak traffic it would put
  that many 5xx in every 5 minutes and fire the alarm. A fraction holds for a run of any
  length and size; a raw count would not (a short run could never reach it, a long one
  always would). The client counts the load balancer's and the targets' 5xx together,
  which is stricter than either alarm alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from config import EnvironmentConfig
from tools.loadtest.model import LoadModel


@dataclass(frozen=True)
class Thresholds:
    p95_ms: float
    server_error_fraction: float
    # Where each figure comes from, printed with the result.
    explanation: str


def thresholds_for(env: EnvironmentConfig, model: LoadModel) -> Thresholds:
    monitoring = env.monitoring
    per_window = model.peak_requests_per_window
    fraction = monitoring.http_5xx_per_5_minutes / per_window
    key = f"outpost.environments.{env.name}.monitoring"
    return Thresholds(
        p95_ms=float(monitoring.response_time_p95_ms),
        server_error_fraction=fraction,
        explanation=(
            f"p95 at most {monitoring.response_time_p95_ms} ms ({key}.response_time_p95_ms); "
            f"5xx below {fraction:.3%} of requests ({key}.http_5xx_per_5_minutes = "
            f"{monitoring.http_5xx_per_5_minutes} in 5 minutes over the model's "
            f"{per_window:,.0f} requests per 5 minutes at peak)"
        ),
    )

"""The control plane's contract with its infrastructure: its port, its health check, and the
exact routes the public load balancer lets through (everything else answers a fixed 404).

The seven operations the MCP tools call (shared/reference: dispatch, status, cancel, health,
list workspaces, delete workspace, artifacts) plus the load balancer's own health check.
The control plane also answers ``/health/ready``, ``/health/fleet`` and the unprefixed
``/dispatch``, ``/workspaces`` and ``/artifacts``; none of them is published. docs/service.md
lists the same routes, and a test keeps the listener rules, this table and that page equal.
"""

from __future__ import annotations

from dataclasses import dataclass

CONTROL_PLANE_PORT = 3000
# Always 200 while the process is up: the load balancer's and the container's health check.
HEALTH_CHECK_PATH = "/health/live"

# Application Load Balancer rule conditions ("Quotas for your Application Load Balancers",
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html;
# "Listener rules": https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html):
# at most 3 values in one condition, 5 across the conditions of a rule, 5 wildcards per rule.
MAX_VALUES_PER_CONDITION = 3
MAX_VALUES_PER_RULE = 5
MAX_WILDCARDS_PER_RULE = 5


@dataclass(frozen=True)
class Route:
    """One listener rule: requests with one of ``methods`` on one of ``paths`` reach the API.

    Path patterns are case-sensitive and match the path only (no query string); ``*`` matches
    any characters, ``/`` included. ALB recommends routing HEAD like GET.
    """

    priority: int
    methods: tuple[str, ...]
    paths: tuple[str, ...]
    serves: str

    def __post_init__(self) -> None:
        values = len(self.methods) + len(self.paths)
        wildcards = sum(path.count("*") + path.count("?") for path in self.paths)
        if (
            max(len(self.methods), len(self.paths)) > MAX_VALUES_PER_CONDITION
            or values > MAX_VALUES_PER_RULE
            or wildcards > MAX_WILDCARDS_PER_RULE
        ):
            raise ValueError(f"an ALB rule cannot hold {self}: see the condition limits above")


PUBLIC_ROUTES: tuple[Route, ...] = (
    Route(10, ("GET", "HEAD"), (HEALTH_CHECK_PATH, "/health"), "the load balancer's check; MCP health"),
    Route(20, ("POST",), ("/api/v2/jobs", "/api/v2/jobs/*/cancel"), "dispatch; cancel"),
    Route(
        30,
        ("GET", "HEAD"),
        ("/api/v2/jobs/*", "/api/v2/workspaces", "/api/v2/artifacts/*"),
        "status; list workspaces; artifacts",
    ),
    Route(40, ("DELETE",), ("/api/v2/workspaces/*",), "delete workspace"),
)

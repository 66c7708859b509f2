"""The declared runtime call paths, in order: who calls what, over which route, with which permission.

Each ``Path`` is one caller's use of one AWS API (or network destination): the route its
packets take (``Route``), the IAM calls that must pass (``Call``, with the request context the
service really sends), how often per dispatch, and where in the code the call is made.
``make paths`` checks every row of every environment against the synthesized templates
(``tools/paths/check.py``); docs/paths.md is generated from this table.

Negative rows (``expect=REFUSED_BY_NETWORK`` / ``REFUSED_BY_IAM`` / ``REFUSED_ON_THE_WAY``) are
paths a hijacked agent would try: each must be refused by the named layer.

The rows live beside this file by caller: ``control_plane_paths.py``, ``agent_paths.py`` (the
hijacked agent's tries last), ``function_paths.py``, ``outside_paths.py`` (alarms, audit, CI);
their vocabulary in ``terms.py``. To extend it: a new caller is a ``Caller`` in ``terms.py``
(its role's construct path and where its network interfaces sit); a new call is a ``Path`` row
in its caller's module. ``{name}`` placeholders are filled per
environment by ``tools/paths/names.py``; a row whose caller names ``{agent}`` is repeated for
every agent task definition the Service stack holds, and ``each=`` repeats a row over a list
the templates hold (an agent's secrets, its sidecars' too once it has some). An egress proxy
or firewall in front of the agents is a new ``Route`` kind (``check.py: network``).
"""

from __future__ import annotations

from tools.paths.agent_paths import AGENT_PATHS
from tools.paths.control_plane_paths import CONTROL_PLANE_PATHS
from tools.paths.function_paths import FUNCTION_PATHS, LAMBDA_SERVICE_PATHS
from tools.paths.outside_paths import AUDIT_AND_ALARM_PATHS, CI_PATHS
from tools.paths.terms import Path

PATHS: tuple[Path, ...] = (
    CONTROL_PLANE_PATHS
    + AGENT_PATHS
    + FUNCTION_PATHS
    + LAMBDA_SERVICE_PATHS
    + AUDIT_AND_ALARM_PATHS
    + CI_PATHS
)

"""What the harness needs from the control plane: the seven paths and the dry-run contract.

One module for both sides, so that the harness (scenario.py, driver.py) and the local
stand-in (standin.py) cannot drift apart; docs/loadtest.md, "The dry-run contract", is the
prose. Plain Python: no Locust here.
"""

from __future__ import annotations

from typing import Any

# The paths of the seven operations (shared reference, "The 7 operations").
JOBS = "/api/v2/jobs"  # POST: dispatch; /:id GET: status; /:id/cancel POST: cancel
WORKSPACES = "/api/v2/workspaces"  # GET: list; /:id DELETE: delete
ARTIFACTS = "/api/v2/artifacts"  # /:jobId GET
HEALTH = "/health"  # GET

# Fields of a dispatch and of its answer.
WORKSPACE_ID = "workspaceId"
DRY_RUN = "dryRun"
DRY_RUN_HOLD_SECONDS = "dryRunHoldSeconds"
JOB_ID = "jobId"
# Should a dispatch ever run for real, this is all its agent is asked to do.
PROMPT = "Load test: there is no work to do. Reply 'ok' and stop."
# What a real dispatch's prompt carries besides the task: code and paths from the repository,
# here made to hold what the web ACL's common rules on the body look for (an HTML page with a
# script and an event handler, relative paths up the tree, URLs, the instance metadata address)
# and to be longer than their 8 KB size rule. A load test through a web ACL that blocked them
# sees every dispatch refused with 403 (constructs/web_acl.py COMMON_RULES_COUNTED).
_EXCERPT = """
--- src/pages/login.html
<form id="login"><input name="next" value="../../dashboard"></form>
<img src="logo.png" onerror="this.style.display='none'">
<script>document.getElementById('login').action = '/api/session';</script>
--- src/cloud/metadata.ts
// On EC2 the SDK reads credentials from http://169.254.169.254/latest/meta-data/iam/
export const CONFIG = require('../../config/settings.json');
fetch('https://registry.npmjs.org/left-pad').then((r) => r.json());
"""
CONTEXT_BYTES = 9 * 1024
DISPATCH_CONTEXT = (_EXCERPT * (CONTEXT_BYTES // len(_EXCERPT) + 1))[:CONTEXT_BYTES]


def dispatch_body(*, agent: str, workspace: str, hold_seconds: float) -> dict[str, Any]:
    """A dry-run dispatch: the control plane records it and launches no task."""
    return {
        "agent": agent,
        "prompt": f"{PROMPT}\n\nContext from the repository (not a task):\n{DISPATCH_CONTEXT}",
        WORKSPACE_ID: workspace,
        DRY_RUN: True,
        DRY_RUN_HOLD_SECONDS: hold_seconds,
    }


def confirmed_dry_run(payload: Any) -> bool:
    """The contract: the answer to a dry-run dispatch says ``"dryRun": true``."""
    return isinstance(payload, dict) and payload.get(DRY_RUN) is True


def job_id(payload: Any) -> str | None:
    value = payload.get(JOB_ID) if isinstance(payload, dict) else None
    return value if isinstance(value, str) and value else None

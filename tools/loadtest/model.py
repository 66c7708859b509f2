"""The load model lives in the app wing (``config/load_model.py``): the WAF's rate-limit settings
are validated against it at synth, and the app wing never imports ``tools``. Re-exported here for
the harness."""

from config.load_model import (
    ARTIFACTS,
    CANCEL,
    DELETE_WORKSPACE,
    DISPATCH,
    HEALTH,
    LIST_WORKSPACES,
    OPERATIONS,
    SECONDS_PER_DAY,
    STATUS,
    WINDOW_SECONDS,
    LoadModel,
)

__all__ = [
    "ARTIFACTS",
    "CANCEL",
    "DELETE_WORKSPACE",
    "DISPATCH",
    "HEALTH",
    "LIST_WORKSPACES",
    "OPERATIONS",
    "SECONDS_PER_DAY",
    "STATUS",
    "WINDOW_SECONDS",
    "LoadModel",
]

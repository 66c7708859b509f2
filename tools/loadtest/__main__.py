"""``python -m tools.loadtest``: see tools/loadtest/cli.py and docs/loadtest.md."""

# Locust patches the standard library for gevent when first imported; it must come before
# anything that imports ssl or socket (boto3 does), or those keep the unpatched versions.
import locust  # noqa: F401 (imported for its side effect, first)

from tools.loadtest.cli import main

raise SystemExit(main())

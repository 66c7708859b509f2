"""``python -m tools.paths [cdk.out]``: check every declared call path of every environment.

One line per path and environment; exit 0 when every path holds (and every negative path is
refused), 1 when any does not, 2 when the templates lack something the table names.
``--env dev`` (repeatable) limits the environments; ``--docs docs/paths.md`` writes the page
instead; ``--check-docs docs/paths.md`` fails when the page differs from the table.
"""

from __future__ import annotations

import sys

from tools.paths.cli import main

sys.exit(main())

"""``python -m tools.rehearsal [cdk.out]``: deploy every stack of every environment onto moto.

Options: ``--env dev`` (repeatable) limits the environments; ``--first-deploy DIR`` first
deploys the assembly in DIR (synthesized with ``service.control_plane.bootstrap: true``),
then pushes the images and updates to the assembly given (the first-deploy runbook);
``--certificate ARN`` adds a certificate stand-in; ``--lambda-concurrency-quota N`` sets
the assumed quota. Exit 0 when every stack was created, 1 when any was not, 2 on bad input.
"""

from __future__ import annotations

import sys

from tools.rehearsal.run import main

sys.exit(main())

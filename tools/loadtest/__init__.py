"""Load test of a deployed environment's public API (``make loadtest``, docs/loadtest.md).

Only ``__main__``, ``driver`` and ``scenario`` import Locust (which patches the standard
library for gevent); every other module is plain Python that the tests import directly.
"""

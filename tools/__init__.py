"""The tools wing: what reads the synthesized cloud assembly back after ``cdk synth``.

``review`` (the scanners and the security review), ``rehearsal`` (the emulator deploys),
``cost`` (the monthly estimate) and ``loadtest`` (the load test of a deployed environment).
Arrows run from here to the app wing (``config``, ``stacks``, ``constructs``, ``compliance``,
``permissions``, ``lambdas``), never back.
"""

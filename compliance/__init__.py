"""What every template is checked against, and how a finding is answered next to its code.

* ``packs``: the six cdk-nag rule packs registered on the app, and the validation report
  ``cdk synth`` writes (read back by ``app.py`` and the tests).
* ``acknowledgements``: acknowledging one finding of a pack (or of the Control Tower rules)
  on the one construct it concerns, with a reason that names the compensating control.
* ``scanners``: the same for checkov and cfn-lint, written into the resource's metadata.
* ``kms_grants``: what every stage applies so that only AWS services create KMS grants.

Nothing here builds infrastructure: constructs and stacks call these functions on what they
build.
"""

"""``make paths``: every declared runtime call path, proven from the synthesized templates.

``table.py`` declares the paths (caller, route, IAM calls, calls per dispatch, and the ones
that must be refused); ``model.py`` reads an environment's templates; ``names.py`` fills the
table's placeholders from them; ``check.py`` checks the network and, with ``policy.py`` (an
IAM policy evaluator), the permissions of each path; ``docs.py`` writes docs/paths.md.
"""

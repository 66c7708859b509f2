"""Read synthesized templates back for review: network flows (and, later, the report)."""

"""The rate budget: calls per dispatch against the documented AWS quotas (docs/capacity.md)."""

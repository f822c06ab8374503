"""The domain: labels, tiers, priority, the review event log and other pure rules (no I/O but their
YAML)."""

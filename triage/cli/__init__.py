"""The `triage` command, one module per command group."""

"""`python -m triage.cli`: the same command as `triage`."""

from triage.cli.main import main

main()

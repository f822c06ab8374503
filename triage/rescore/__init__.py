"""Bulk re-scoring of a backlog with a new bundle (`triage rescore`, the `scale` extra).

- parts: the input cut into numbered parts, each part's output file, the run's manifest
  (what makes a rerun resume instead of starting over);
- output: the output records (score-file's, plus the model and a digest of the text scored)
  and their Parquet schema;
- engine: the run on Ray Data, one ONNX scorer per actor (the only module that imports ray);
- writeback: the new scores into the queue database, for items not yet resolved.

Only `engine` needs ray; the CLI imports it when the command runs, so the service, the scoring
core and `triage --help` never load it (tests/rescore/test_rescore.py checks).
"""

DEFAULT_PART_SIZE = 5_000  # lines: about a minute of one core's scoring with the shipped bundle

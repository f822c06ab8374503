"""Reports on held-out data: test split, baseline, LOSO, casebook, probes."""

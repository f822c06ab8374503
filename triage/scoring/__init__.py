"""The torch-free scoring core: a bundle, its encoder and scorer, evidence, threads, score-file."""

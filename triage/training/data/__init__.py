"""Public datasets, synthetic, counterfactual and feedback rows -> prepared splits."""

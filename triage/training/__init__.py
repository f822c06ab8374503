"""Training side of triage: data adapters, fine-tuning, evaluation, calibration, ONNX export.

Heavy libraries (torch, transformers, datasets, scikit-learn, onnx) are imported inside the
functions that need them, so `triage --help` and the data commands stay fast.
"""

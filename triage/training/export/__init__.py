"""Checkpoint -> int8 ONNX bundle with its model card, checked against the reference."""

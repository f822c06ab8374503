"""The project's own annotations: sampling, import, join, agreement."""

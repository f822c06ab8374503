"""The HTTP API: request and response schemas, validation and the /v1 routes."""

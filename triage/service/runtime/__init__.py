"""What runs around the routes: logs, metrics, limits, key cache, background work."""

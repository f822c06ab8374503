"""The moderator console: server-rendered pages, sign-in, care features, dashboard."""

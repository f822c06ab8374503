"""The moderation queue over storage: ingest, ranking, views, stats, retention, alerts."""

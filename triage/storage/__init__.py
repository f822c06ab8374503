"""Storage: where the database's shape lives, not what the service asks of it.

- database.py: the engine and its sessions (SQLite in WAL mode as the embedded default,
  PostgreSQL in production, shared by several stateless service replicas), and running the
  Alembic migrations in migrations/;
- tables.py: the SQLAlchemy tables those migrations create;
- keys.py: API keys with roles, stored as digests;
- webhooks.py: webhook endpoints and deliveries, each delivery claimed by one sender (a lease).

The queue's reads and writes are triage/queue/. Nothing here imports training libraries.
"""

"""Storage: SQLAlchemy tables, Alembic migrations and the queries the service runs.

SQLite (WAL) is the embedded default; PostgreSQL is the production backend, shared by several
stateless service replicas. Nothing here imports training libraries.
"""

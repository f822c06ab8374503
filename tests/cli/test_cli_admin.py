"""`triage keys` and `triage db`: keys are shown once, stored hashed, and revocable."""

from __future__ import annotations

import stat

from sqlalchemy import select

from tests.conftest import run_cli
from triage.storage.database import Database
from triage.storage.keys import verify_key
from triage.storage.tables import ApiKey


def test_create_list_revoke(tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    created = run_cli("keys", "create", "--name", "alice", "--role", "moderator", "--database", url)
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("trg_")
    db = Database(url)
    with db.read() as session:
        (row,) = session.scalars(select(ApiKey)).all()
        assert secret not in (row.digest, row.prefix, row.name)  # only a digest is stored
        assert verify_key(session, secret).name == "alice"
    listed = run_cli("keys", "list", "--database", url)
    assert "alice" in listed.output and secret not in listed.output
    assert run_cli("keys", "revoke", "1", "--database", url).exit_code == 0
    with db.read() as session:
        assert verify_key(session, secret) is None
    missing = run_cli("keys", "revoke", "7", "--database", url)
    assert missing.exit_code != 0 and "no key 7" in missing.output


def test_bootstrap_writes_keys_once_to_a_private_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    out = tmp_path / "keys.txt"
    assert run_cli("keys", "bootstrap", "--out", out, "--database", url).exit_code == 0
    lines = out.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["platform", "moderator", "admin"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    again = run_cli("keys", "bootstrap", "--out", tmp_path / "other.txt", "--database", url)
    assert "exist already" in again.output and not (tmp_path / "other.txt").exists()


def test_db_upgrade(tmp_path):
    result = run_cli("db", "upgrade", "--database", f"sqlite:///{tmp_path / 'new.db'}")
    assert result.exit_code == 0 and "up to date" in result.output


def _revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    db = Database(url)
    with db.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    db.dispose()
    return revision


def _one_migration_behind(url: str) -> str:
    """A database whose schema lacks the newest migration; returns the revision it is at."""
    from alembic import command

    from triage.storage.database import alembic_config

    Database(url).upgrade()
    command.downgrade(alembic_config(url), "-1")
    return _revision(url)


def test_admin_commands_migrate_only_as_the_service_does(tmp_path, monkeypatch):
    """TRIAGE_MIGRATE_ON_START rules the admin commands as it rules `triage serve`: on (the
    default) they bring the schema up to date; off (several replicas on one PostgreSQL) only
    `triage db upgrade` migrates, and a command finding migrations pending says so instead."""
    behind = f"sqlite:///{tmp_path / 'behind.db'}"
    old = _one_migration_behind(behind)
    monkeypatch.setenv("TRIAGE_MIGRATE_ON_START", "false")
    for command in (
        ("keys", "list"),
        ("keys", "create", "--name", "alice", "--role", "moderator"),
        ("purge", "--days", "30"),
    ):
        refused = run_cli(*command, "--database", behind)
        assert refused.exit_code != 0 and "triage db upgrade" in refused.output, refused.output
        assert _revision(behind) == old  # no migration ran

    current = f"sqlite:///{tmp_path / 'current.db'}"
    Database(current).upgrade()
    head = _revision(current)
    upgrades = []
    monkeypatch.setattr(Database, "upgrade", lambda self: upgrades.append(self.url))
    created = run_cli("keys", "create", "--name", "bob", "--role", "admin", "--database", current)
    assert created.exit_code == 0, created.output
    assert "bob" in run_cli("keys", "list", "--database", current).output
    assert upgrades == []
    monkeypatch.undo()

    monkeypatch.setenv("TRIAGE_MIGRATE_ON_START", "false")
    assert run_cli("db", "upgrade", "--database", behind).exit_code == 0  # always migrates
    assert _revision(behind) == head
    monkeypatch.delenv("TRIAGE_MIGRATE_ON_START")
    again = f"sqlite:///{tmp_path / 'again.db'}"
    _one_migration_behind(again)
    assert run_cli("keys", "list", "--database", again).exit_code == 0  # on: it migrates
    assert _revision(again) == head

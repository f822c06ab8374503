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

"""`triage keys ...` and `triage db ...`: the operator's commands (registered in cli/main.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import click

from triage.paths import DEFAULT_FEEDBACK_EXPORT
from triage.settings import Settings

DATABASE_OPTION = click.option(
    "--database",
    "database_url",
    default=None,
    help="SQLAlchemy URL (default: TRIAGE_DATABASE_URL, else the embedded SQLite file).",
)


def _database(url: str | None):
    """The database, migrated first when TRIAGE_MIGRATE_ON_START is on, as `triage serve` does.
    Off (replicas sharing PostgreSQL), only `triage db upgrade` migrates: a command run in a
    replica must not run Alembic beside the others, nor ahead of the deploy's own migrate step."""
    from triage.storage.database import Database

    settings = Settings()
    db = Database(url or settings.database_url)
    if settings.migrate_on_start:
        db.upgrade()
    elif pending := db.pending_migrations():
        db.dispose()
        raise click.ClickException(
            f"the database lacks migrations {pending[0]} to {pending[-1]} and "
            "TRIAGE_MIGRATE_ON_START is false: run `triage db upgrade` first"
        )
    return db


@click.group()
def keys() -> None:
    """Create, list and revoke API keys (roles: platform, moderator, admin, metrics).

    A key is shown once, when it is created; only its SHA-256 digest is stored.
    """


@keys.command("create")
@click.option(
    "--name",
    required=True,
    help="Who holds the key; shown as the actor of its events (which also record the key id). "
    "Unique among active keys; 'triage' and 'system' are reserved.",
)
@click.option(
    "--role",
    type=click.Choice(["platform", "moderator", "admin", "metrics"]),
    required=True,
    help="platform: score and ingest; moderator: queue and console; admin: everything; "
    "metrics: GET /metrics only (for a Prometheus scraper).",
)
@DATABASE_OPTION
def keys_create(name: str, role: str, database_url: str | None) -> None:
    """Create a key and print it once."""
    from triage.storage.keys import BadKeyName, Role, create_key

    db = _database(database_url)
    try:
        with db.write() as session:
            made = create_key(session, name, Role(role), datetime.now(UTC))
    except BadKeyName as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created key {made.principal.key_id} for {name} ({role}); shown only now:")
    click.echo(made.secret)


@keys.command("list")
@DATABASE_OPTION
def keys_list(database_url: str | None) -> None:
    """List keys (id, name, role, created, revoked); never the keys themselves."""
    from triage.storage.keys import list_keys

    db = _database(database_url)
    with db.read() as session:
        rows = list_keys(session)
    click.echo(f"{'id':>4}  {'name':<24} {'role':<10} {'created':<20} revoked")
    for row in rows:
        revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M") if row.revoked_at else "-"
        created = row.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{row.id:>4}  {row.name:<24} {row.role:<10} {created:<20} {revoked}")


@keys.command("revoke")
@click.argument("key_id", type=int)
@DATABASE_OPTION
def keys_revoke(key_id: int, database_url: str | None) -> None:
    """Revoke key KEY_ID (see `triage keys list`); it stops working at once."""
    from triage.storage.keys import revoke_key

    db = _database(database_url)
    with db.write() as session:
        row = revoke_key(session, key_id, datetime.now(UTC))
    if row is None:
        raise click.ClickException(f"no key {key_id}; see `triage keys list`")
    click.echo(f"revoked key {key_id} ({row.name}, {row.role})")


@keys.command("bootstrap")
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write the new keys to (created with mode 0600).",
)
@DATABASE_OPTION
def keys_bootstrap(out_path: Path, database_url: str | None) -> None:
    """For a first local run: if the database has no keys, create one per role into OUT.

    Does nothing when keys exist already, so `make serve` can call it every time.
    """
    from triage.storage.keys import Role, create_key, list_keys

    db = _database(database_url)
    with db.write() as session:
        if list_keys(session):
            click.echo(f"keys exist already (see `triage keys list`; first run wrote {out_path})")
            return
        now = datetime.now(UTC)
        roles = (Role.PLATFORM, Role.MODERATOR, Role.ADMIN)
        made = [create_key(session, f"local-{role.value}", role, now) for role in roles]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        for key in made:
            handle.write(f"{key.principal.role.value}\t{key.principal.name}\t{key.secret}\n")
    click.echo(
        f"created one key per role for local use: {out_path} (sign in to the console with "
        "the moderator or admin key)"
    )


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@DATABASE_OPTION
def db_upgrade(database_url: str | None) -> None:
    """Apply pending migrations (run once per deploy when TRIAGE_MIGRATE_ON_START=false)."""
    from triage.storage.database import Database

    Database(database_url or Settings().database_url).upgrade()
    click.echo("database is up to date")


@click.command("export-feedback")
@DATABASE_OPTION
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_FEEDBACK_EXPORT,
    show_default=True,
    help="Folder for feedback.jsonl; `triage data prepare` reads it from --external.",
)
def export_feedback(database_url: str | None, out_dir: Path) -> None:
    """Write moderator outcomes and relabels as training rows (source "feedback").

    `triage data prepare` then puts them next to the public datasets, and `triage train` learns
    from them. Items whose text was purged are left out.
    """
    from triage.queue.feedback_export import reviewed_posts
    from triage.training.data.feedback import FEEDBACK_FILE
    from triage.training.data.feedback import export_feedback as write_rows

    db = _database(database_url)
    with db.read() as session:
        count = write_rows(reviewed_posts(session), out_dir)
    click.echo(f"wrote {count} feedback rows to {out_dir / FEEDBACK_FILE}")


@click.command("purge")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Purge the text of items resolved more than this many days ago "
    "(default: TRIAGE_RETENTION_DAYS).",
)
@click.option("--dry-run", is_flag=True, help="Only count the items that would be purged.")
@DATABASE_OPTION
def purge(days: float | None, dry_run: bool, database_url: str | None) -> None:
    """Retention: remove the post text (parent text, link, members' report comments) of
    long-resolved items.

    Scores, flags, tier, outcome and the event history stay; each purged item gets a
    `text_purged` event, and so does each reply whose copy of a purged post (its parent text)
    is removed. Purged items are left out of feedback export. The service runs the
    same purge every TRIAGE_PURGE_INTERVAL_S when TRIAGE_RETENTION_DAYS is set.
    """
    from triage.queue.retention import purge as run_purge

    days = days if days is not None else Settings().retention_days
    if days is None:
        raise click.ClickException(
            "how many days to keep text: expected --days N or TRIAGE_RETENTION_DAYS, found neither"
        )
    result = run_purge(_database(database_url), days, datetime.now(UTC), dry_run=dry_run)
    cutoff = result.cutoff.strftime("%Y-%m-%d %H:%M UTC")
    verb = "would purge" if dry_run else "purged"
    click.echo(f"{verb} the text of {result.items} items resolved before {cutoff}")
    if result.parent_copies:
        click.echo(f"{verb} the copy of a purged post's text in {result.parent_copies} replies")

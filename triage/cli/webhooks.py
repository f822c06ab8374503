"""`triage webhooks ...`: see alert endpoints and turn a disabled one back on (cli/main.py registers
it). An endpoint is disabled by the service after TRIAGE_WEBHOOK_DISABLE_AFTER alerts in a row
failed; it stays off, on every replica, until a person enables it here."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from triage.cli.admin import DATABASE_OPTION, _database


@click.group()
def webhooks() -> None:
    """List alert endpoints (TRIAGE_WEBHOOK_URLS) and re-enable a disabled one."""


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@webhooks.command("list")
@DATABASE_OPTION
def webhooks_list(database_url: str | None) -> None:
    """Endpoints with their status, last success and failure, and alerts by status."""
    from triage.storage.webhooks import endpoint_statuses

    db = _database(database_url)
    with db.read() as session:
        rows = endpoint_statuses(session)
    if not rows:
        click.echo("no webhook endpoints yet (set TRIAGE_WEBHOOK_URLS and start the service)")
    for row in rows:
        endpoint, counts = row.endpoint, row.deliveries
        state = "enabled" if endpoint.enabled else f"DISABLED {_when(endpoint.disabled_at)}"
        last_ok, last_failure = _when(endpoint.last_success_at), _when(endpoint.last_failure_at)
        click.echo(
            f"{endpoint.id:>4}  {endpoint.display:<40} {state}  last ok {last_ok}"
            f"  last failure {last_failure} ({endpoint.last_error or '-'})"
            f"  delivered {counts.get('delivered', 0)}, failed {counts.get('failed', 0)}, "
            f"pending {counts.get('pending', 0)}"
        )
        if endpoint.disabled_reason:
            click.echo(f"      why: {endpoint.disabled_reason}")


@webhooks.command("enable")
@click.argument("endpoint")
@DATABASE_OPTION
def webhooks_enable(endpoint: str, database_url: str | None) -> None:
    """Enable ENDPOINT again: its id (`triage webhooks list`) or its full URL.

    Alerts recorded while it was disabled are not sent late (they are marked failed,
    `endpoint_disabled`); new ones are.
    """
    from triage.storage.webhooks import EndpointNotFound, enable

    db = _database(database_url)
    try:
        with db.write() as session:
            row = enable(session, endpoint)
            display, endpoint_id = row.display, row.id
    except EndpointNotFound:
        raise click.ClickException(
            "no such webhook endpoint: give an id from `triage webhooks list` or the exact URL"
        ) from None
    click.echo(f"enabled endpoint {endpoint_id} ({display}) at {_when(datetime.now(UTC))} UTC")

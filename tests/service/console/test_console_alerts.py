"""The console's alerts page, /console/alerts: each webhook endpoint with its status (active, or
disabled after repeated failures with since when and the last error kind) and the latest
deliveries. Signed-in moderators only; never post text, never a webhook URL's path. The app
sends to receivers on 127.0.0.1 (test_webhooks.py's), with the clock the test moves."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.conftest import TIER_RULES, bearer
from tests.queue.test_webhooks import (  # noqa: F401 (make_app and receiver are fixtures)
    POST_TEXT,
    Receiver,
    _clear_webhook_tables,
    ingest,
    make_app,
    receiver,
)
from tests.service.api.test_service import assert_error_shape
from tests.service.console.test_console import HTML, sign_in
from triage.queue import store as queue
from triage.service.context import context_of
from triage.storage import webhooks as store
from triage.storage.database import Database


def _rows(html: str, testid: str) -> list[str]:
    table = html.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return re.findall(r"<tr data-[a-z]+=\"\d+\">(.*?)</tr>", table, re.S)


def _text(fragment: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


def test_alerts_page_needs_a_signed_in_moderator(make_app, receiver):  # noqa: F811
    client, keys, _ = make_app([receiver.url])
    client.headers.pop("authorization")
    reply = client.get("/console/alerts", headers=HTML, follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/sign-in?next=%2Fconsole%2Falerts"
    assert_error_shape(client.get("/console/alerts"), 401, "session")
    # an API key alone, even an admin's, is not a console session
    with_key = client.get("/console/alerts", headers=bearer(keys["admin"]))
    assert_error_shape(with_key, 401, "session")


def test_alerts_page_shows_a_disabled_endpoint_an_active_one_and_the_deliveries(
    make_app,  # noqa: F811
    receiver,  # noqa: F811
):
    failing = Receiver(statuses=[503]).start()
    try:
        client, keys, _ = make_app(
            [failing.url, receiver.url],
            webhook_max_attempts=1,
            webhook_disable_after=2,
            webhook_include_text=True,  # even then, the page shows no text
        )
        items = [ingest(client, f"p{n}", f"{POST_TEXT} {n}") for n in range(3)]
        context_of(client.app).webhooks.deliver_due()
        context_of(client.app).webhooks.deliver_due()  # the disabled endpoint's last alert: failed
        sign_in(client, keys["alice"])
        reply = client.get("/console/alerts", headers=HTML)
    finally:
        failing.stop()

    assert reply.status_code == 200
    assert reply.headers["cache-control"] == "no-store"
    html = reply.text
    assert "zebra-quartz" not in html and POST_TEXT not in html  # never post text
    assert "t0ken" not in html and "x=1" not in html  # a webhook URL's path is its secret
    ids = context_of(client.app).webhooks.endpoint_ids
    failing_id, active_id = ids[failing.url], ids[receiver.url]

    endpoints = {
        int(re.search(r"<td>(\d+)</td>", row).group(1)): _text(row)
        for row in _rows(html, "endpoints")
    }
    failing_port = failing.server.server_address[1]
    assert f"http://127.0.0.1:{failing_port}/…" in endpoints[failing_id]
    assert re.search(r"disabled since \d{4}-\d\d-\d\d \d\d:\d\d", endpoints[failing_id])
    assert "after repeated failures" in endpoints[failing_id]
    assert "http_503" in endpoints[failing_id]
    assert "0 delivered, 3 failed, 0 pending" in endpoints[failing_id]
    assert "active" in endpoints[active_id] and "disabled" not in endpoints[active_id]
    assert "3 delivered, 0 failed, 0 pending" in endpoints[active_id]

    deliveries = [_text(row) for row in _rows(html, "deliveries")]
    assert len(deliveries) == 6
    assert all(f"#{item}" in " ".join(deliveries) for item in items)
    assert all(" crisis " in row for row in deliveries)
    assert sum("delivered" in row for row in deliveries) == 3
    assert sum("failed http_503" in row for row in deliveries) == 2
    assert sum("failed endpoint_disabled" in row for row in deliveries) == 1
    # newest first: the last recorded alert heads the table
    with context_of(client.app).database.read() as session:
        newest = max(d.id for d, _ in store.recent_deliveries(session, 10))
    assert html.index(f'data-delivery="{newest}"') < html.index('data-delivery="1"')
    assert f'href="/items/{items[0]}"' in html


def test_alerts_page_says_when_alerts_are_off(make_app):  # noqa: F811
    client, keys, _ = make_app([])
    sign_in(client, keys["alice"])
    html = client.get("/console/alerts", headers=HTML).text
    assert 'data-testid="alerts-off"' in html and "TRIAGE_WEBHOOK_URLS" in html
    assert "No alerts sent yet." in html
    assert '<a href="/console/alerts">Alerts</a>' in client.get("/", headers=HTML).text


def test_recent_deliveries_are_newest_first_and_limited(database_url):
    """On SQLite and PostgreSQL."""
    _clear_webhook_tables(database_url)
    db = Database(database_url)
    now = datetime.now(UTC)
    urls = ["https://hooks.example.org/services/T0/s3cret", "http://127.0.0.1:9/relay"]
    try:
        with db.write() as session:
            endpoint_ids = store.ensure_endpoints(session, urls, now)
            news = [queue.NewItem("c", f"n{n}", POST_TEXT) for n in range(3)]
            items = [item.id for item, _ in queue.ingest(session, news, now, TIER_RULES)]
            for item_id in items:
                store.enqueue(session, item_id, endpoint_ids.values(), "crisis", now)
        with db.read() as session:
            rows = store.recent_deliveries(session, 4)
            everything = store.recent_deliveries(session, 50)
    finally:
        db.dispose()
    ids = [delivery.id for delivery, _ in everything]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True)
    assert [delivery.id for delivery, _ in rows] == ids[:4]
    assert [delivery.item_id for delivery, _ in rows] == [items[2], items[2], items[1], items[1]]
    assert {target for _, target in rows} == {
        "https://hooks.example.org/…",
        "http://127.0.0.1:9/…",
    }

"""/docs and /redoc work offline: every script, style sheet and icon comes from the app itself."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from triage.service.app import create_app
from triage.settings import Settings

URL_ATTRIBUTE = re.compile(r"""(?:src|href|spec-url|url)\s*[=:]\s*["']([^"']+)["']""")


@pytest.fixture()
def docs_client(tmp_path):
    """No model needed: the docs pages do not depend on one."""
    settings = Settings(
        bundle_dir=tmp_path / "no-bundle", database_url=f"sqlite:///{tmp_path / 'triage.db'}"
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_names_no_outside_url(docs_client, page):
    response = docs_client.get(page)
    assert response.status_code == 200
    assert not re.findall(r"(?:https?:)?//[\w.-]+", response.text), "a URL outside the app"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_every_asset_of_the_docs_page_answers(docs_client, page):
    urls = URL_ATTRIBUTE.findall(docs_client.get(page).text)
    assert any(url.endswith(".js") for url in urls), urls
    assert "/openapi.json" in urls
    for url in urls:
        response = docs_client.get(url)
        assert response.status_code == 200, url
        assert response.content, url


def test_docs_pages_are_not_in_the_api_spec(docs_client):
    paths = docs_client.get("/openapi.json").json()["paths"]
    assert not {"/docs", "/redoc"} & set(paths)

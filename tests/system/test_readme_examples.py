"""The README says what really happens: its examples, run against the shipped model, return what
the text around them states, and it points only at files a fresh clone has."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer, create_keys
from triage.paths import DEFAULT_BUNDLE
from triage.service.app import create_app
from triage.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
HOSTILE_LIMIT_TEXT = "Shut up, nobody wants you here."


def curl_body(route: str) -> dict:
    """The JSON body of the README's curl example for `route`."""
    example = re.search(
        rf"curl -s localhost:8000{re.escape(route)} .*?-d '(.*?)'\n```", README, re.S
    )
    assert example, f"no curl example for {route} in the README"
    return json.loads(example.group(1))


@pytest.fixture(scope="module")
def shipped_client(tmp_path_factory):
    """The service on the shipped bundle (models/triage-minilm), as `make serve` runs it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('readme') / 'triage.db'}"
    keys = create_keys(url)
    settings = Settings(bundle_dir=DEFAULT_BUNDLE, database_url=url)
    with TestClient(create_app(settings), headers=bearer(keys["platform"])) as client:
        yield client


def test_scoring_example_returns_what_the_readme_says(shipped_client):
    response = shipped_client.post("/v1/score", json=curl_body("/v1/score"))
    assert response.status_code == 200, response.text
    assert response.json()["model"] == {"name": "triage-minilm", "version": "1.1.1"}
    p1, r7 = response.json()["results"]
    assert (p1["tier"], p1["flags"], p1["priority"]) == ("red", ["self_harm"], 65)
    assert (r7["tier"], r7["flags"], r7["priority"]) == ("green", ["hostile"], 35)
    assert "priority 65: red's base" in README and "priority 35, hostile's base" in README
    assert round(p1["scores"]["self_harm"], 2) == 0.39 and round(r7["scores"]["hostile"], 2) == 0.87
    assert "`p1` comes back `red` with `self_harm` flagged (0.39" in README
    assert "`hostile` flagged (0.87" in README


def test_the_hostile_example_without_an_insult_word_is_stated_as_it_is(shipped_client):
    """0.5.0 missed it (0.17); the README says what the shipped model does with it now."""
    item = {"id": "x", "text": HOSTILE_LIMIT_TEXT, "parent_text": "I feel so low lately."}
    response = shipped_client.post("/v1/score", json={"items": [item]})
    result = response.json()["results"][0]
    assert "hostile" in result["flags"] and round(result["scores"]["hostile"], 2) == 0.60
    assert f'"{HOSTILE_LIMIT_TEXT}" as a reply' in README and "scores `hostile` 0.60" in README


def test_thread_example_returns_what_the_readme_says(shipped_client):
    response = shipped_client.post("/v1/threads/score", json=curl_body("/v1/threads/score"))
    assert response.status_code == 200, response.text
    thread = response.json()
    assert thread["flagged"] and round(thread["score"], 2) == 0.50
    assert thread["drivers"][0]["id"] == "r1"
    assert thread["drivers"][0]["why"] == "pair score 0.76; negative affect 0.04; no coping cue"
    assert "this thread scores 0.50" in README
    assert '("pair score 0.76; negative affect 0.04;\nno coping cue")' in README


def test_readme_points_at_the_design_in_the_repository():
    assert "../shared/DESIGN.md" not in README and "../shared/notes" not in README
    design = (ROOT / "docs" / "design.md").read_text()
    for section in ("## Labels", "## Risk tiers", "## Scoring API", "## Queue"):
        assert section in design
    assert "`docs/design.md`" in README


def test_readme_says_where_the_command_lives_near_the_top():
    top = README[: README.index("## Status")]
    assert "`.venv/bin`" in top and "--version" in top

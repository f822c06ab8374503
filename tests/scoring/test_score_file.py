"""`triage score-file`: every line gets an output line, as the API scores it or as an error."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import Result

from tests.conftest import bearer, run_cli
from triage.service.api.schemas import ScoreResultOut

LONG_TEXT = "I have been feeling low for weeks and nothing helps. " * 600  # about 31,800 chars


def write_jsonl(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return path


def score_file(source: Path, out: Path, bundle: Path) -> tuple[Result, list[dict]]:
    result = run_cli("score-file", source, "--out", out, "--bundle", bundle)
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return result, records


def test_bad_lines_get_error_lines_and_the_rest_is_scored(tiny_bundle, tmp_path):
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "a", "text": "free prize call now"},
            "{not json",
            {"id": "b", "text": "   "},
            "",  # blank lines are skipped, not errors
            {"id": "a", "text": "the same id again"},
            [1, 2],
            {"id": 7, "text": "you idiot", "parent_text": "I feel low", "source": "ignored"},
        ],
    )
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 1
    assert "4 of 6 lines failed" in result.stderr
    assert [r["line"] for r in records] == [1, 2, 3, 5, 6, 7]
    errors = {r["line"]: r for r in records if "error" in r}
    assert set(errors) == {2, 3, 5, 6}
    assert errors[3]["id"] == "b" and errors[5]["id"] == "a"
    assert errors[3]["error"]["details"] == [
        {
            "field": "text",
            "expected": "a non-empty string",
            "found": "a string of 3 characters, all whitespace",
        }
    ]
    assert errors[5]["error"]["details"][0] == {
        "field": "id",
        "expected": "an id not used on an earlier line",
        "found": "the id of line 1",
    }
    for error in errors.values():
        assert set(error["error"]) == {"status", "code", "message", "details"}
    assert records[0]["id"] == "a" and "scores" in records[0]
    assert records[-1]["id"] == "7" and "scores" in records[-1]  # an integer id is kept


def test_a_long_text_is_scored_and_its_truncation_recorded(tiny_bundle, tmp_path):
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [{"id": "long", "text": LONG_TEXT}, {"id": "short", "text": "see you at five"}],
    )
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 0, result.output
    long, short = records
    assert long["truncated"] is True
    assert long["truncation"].startswith("text: read the first 31 and the last 31 of ")
    assert short["truncated"] is False and short["truncation"] is None


def test_output_lines_are_what_the_api_returns(tiny_bundle, tmp_path, client, keys):
    items = [
        {"id": "p1", "text": "I want to end my life tonight. I wrote a note."},
        {"id": "r1", "text": "nobody cares what you think, loser", "parent_text": "I feel low"},
    ]
    api = client.post("/v1/score", json={"items": items}, headers=bearer(keys["platform"]))
    assert api.status_code == 200, api.text
    source = write_jsonl(tmp_path / "in.jsonl", items)
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 0, result.output
    api_fields = set(ScoreResultOut.model_fields)
    assert {key for r in records for key in r} == api_fields | {"line", "truncated", "truncation"}
    assert [{k: r[k] for k in api_fields} for r in records] == api.json()["results"]


def test_an_empty_file_writes_nothing_and_succeeds(tiny_bundle, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("\n  \n")
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 0, result.output
    assert "no lines to score" in result.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_a_line_that_is_not_utf8_is_an_error_line(tiny_bundle, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b'{"id": "x", "text": "caf\xe9"}\n{"id": "y", "text": "hello"}\n')
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 1
    assert "1 of 2 lines failed" in result.stderr
    assert records[0]["error"]["details"][0]["found"] == "bytes that are not UTF-8"
    assert records[1]["id"] == "y" and "scores" in records[1]


def test_a_line_the_model_fails_on_is_an_error_line(tiny_bundle, tmp_path, monkeypatch):
    from triage.scoring.scorer import OnnxScorer

    real_score = OnnxScorer.score

    def fail_on_boom(self, items):
        if any(item.text == "boom" for item in items):
            raise RuntimeError("boom")  # the message must not reach the output
        return real_score(self, items)

    monkeypatch.setattr(OnnxScorer, "score", fail_on_boom)
    source = write_jsonl(
        tmp_path / "in.jsonl", [{"id": "a", "text": "hello"}, {"id": "b", "text": "boom"}]
    )
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 1 and "1 of 2 lines failed" in result.stderr
    assert "scores" in records[0]
    assert records[1]["error"]["code"] == "scoring_failed"
    assert "boom" not in json.dumps(records[1])


def test_broken_text_is_repaired_as_the_api_repairs_it(tiny_bundle, tmp_path):
    """A JSON "\\ud83d" (half an emoji) or "\\u0000" becomes U+FFFD, as in /v1/score."""
    source = tmp_path / "in.jsonl"
    source.write_text(
        '{"id": "s", "text": "I cut it \\ud83d off", "parent_text": "nul \\u0000 here"}\n'
    )
    result, records = score_file(source, tmp_path / "out.jsonl", tiny_bundle)

    assert result.exit_code == 0, result.output
    assert records[0]["id"] == "s" and "error" not in records[0]

"""Leave-one-source-out evaluation (triage/training/evaluation/loso.py, `triage evaluate-loso`)
and its frozen features (triage/training/fit/frozen_features.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import run_cli
from triage.domain.labels import LABELS
from triage.training.data.rows import Row
from triage.training.evaluation.loso import (
    KEEP_MARKER,
    LosoConfig,
    load_rows,
    run_loso,
    write_report,
)
from triage.training.fit import frozen_features
from triage.training.fit.frozen_features import (
    EmbeddingFeatures,
    TfidfFeatures,
    make_featurizers,
    pair_features,
    tfidf_analyzer,
)

pytest.importorskip("sklearn")

SOURCES = ("forum-a", "replies-b", "chat-c")
HOSTILE = ["you are a pathetic idiot {n}", "shut up loser, nobody cares {n}"]
BENIGN = ["thanks for sharing, that helps {n}", "I went for a walk today {n}"]


def _row(source: str, split: str, n: int, hostile: int) -> Row:
    template = (HOSTILE if hostile else BENIGN)[n % 2]
    labels = dict.fromkeys(LABELS)
    labels["hostile"] = hostile
    return Row(
        id=f"{source}-{split}-{n}",
        text=template.format(n=n),
        source=source,
        group=f"{source}-{n}",
        split=split,
        parent_text="has anyone else felt this way?" if source == "replies-b" else None,
        labels=labels,
    )


def _rows() -> list[Row]:
    """Three sources; chat-c's test split has no hostile row, so it is evaluated on all rows."""
    rows = []
    for source in SOURCES:
        rows += [_row(source, "train", n, n % 2) for n in range(30)]
        rows += [_row(source, "test", n, 0 if source == "chat-c" else n % 2) for n in range(10)]
    return rows


@pytest.fixture()
def prepared(tmp_path: Path) -> Path:
    folder = tmp_path / "prepared"
    folder.mkdir()
    by_split: dict[str, list[str]] = {"train": [], "dev": [], "test": []}
    for row in _rows():
        by_split[row.split].append(json.dumps(row.to_json()))
    for split, lines in by_split.items():
        (folder / f"{split}.jsonl").write_text("".join(line + "\n" for line in lines))
    return folder


class RecordingTfidf(TfidfFeatures):
    """TF-IDF that remembers which rows each fit saw and which rows it then scored."""

    def __init__(self) -> None:
        self.calls: list[tuple[set[str], set[str]]] = []

    def fit_transform(self, rows):
        self.calls.append(({r.id for r in rows}, set()))
        return super().fit_transform(rows)

    def transform(self, rows):
        self.calls[-1][1].update(r.id for r in rows)
        return super().transform(rows)


class CountingEncoder:
    """A fake sentence encoder: a fixed vector per text, counting the texts it encodes."""

    name = "fake"

    def __init__(self) -> None:
        self.encoded: list[str] = []

    def encode(self, texts):
        self.encoded += list(texts)
        return np.array([[len(t), t.count(" ") + 1.0, 1.0] for t in texts], dtype=np.float32)


def _config(folder: Path, tmp_path: Path) -> LosoConfig:
    return LosoConfig(folder, ("hostile",), ("tfidf",), 1000, tmp_path / "cache")


def _source_of(ids: set[str]) -> set[str]:
    return {next(s for s in SOURCES if i.startswith(s)) for i in ids}


def test_held_out_source_never_reaches_the_fit(prepared: Path, tmp_path: Path) -> None:
    recorder = RecordingTfidf()
    report = run_loso(load_rows(prepared), _config(prepared, tmp_path), {"tfidf": recorder})

    held_out_fits = [(fit, scored) for fit, scored in recorder.calls if len(_source_of(fit)) == 2]
    assert len(held_out_fits) == 3
    for fit, scored in held_out_fits:
        (held_out,) = _source_of(scored)
        assert _source_of(fit) == set(SOURCES) - {held_out}
        assert not fit & scored
    assert all(not fit & scored for fit, scored in recorder.calls)  # in-domain: train vs test
    figures = report["labels"]["hostile"]["sources"]
    assert set(figures) == set(SOURCES)
    assert figures["forum-a"]["held_out"]["tfidf"]["roc_auc"] > 0.9
    assert figures["forum-a"]["train_rows_held_out"] == 60


def test_a_source_without_both_classes_in_test_is_scored_on_all_rows(
    prepared: Path, tmp_path: Path
) -> None:
    report = run_loso(load_rows(prepared), _config(prepared, tmp_path), {"tfidf": TfidfFeatures()})
    chat = report["labels"]["hostile"]["sources"]["chat-c"]
    assert chat["eval_on"] == "all rows"
    assert (chat["positives"], chat["negatives"]) == (15, 25)
    assert chat["in_domain"] == {}  # it would score rows it was trained on
    assert chat["held_out"]["tfidf"] is not None
    assert report["labels"]["hostile"]["sources"]["forum-a"]["eval_on"] == "test split"


def test_embeddings_of_a_reply_and_its_parent_are_combined(tmp_path: Path) -> None:
    features = EmbeddingFeatures(CountingEncoder(), tmp_path / "cache")
    reply, alone = _row("replies-b", "train", 1, 1), _row("forum-a", "train", 2, 0)
    matrix = features.transform([reply, alone])

    encoder = CountingEncoder()  # the cache holds what the encoder gives (this fake's: raw)
    r, p = encoder.encode([reply.text, reply.parent_text])
    np.testing.assert_allclose(matrix[0], np.concatenate([r, p, r * p]))
    a = encoder.encode([alone.text])[0]
    np.testing.assert_allclose(matrix[1], np.concatenate([a, np.zeros(3), np.zeros(3)]))
    np.testing.assert_allclose(
        pair_features(np.ones((1, 2)), np.full((1, 2), 2.0), np.array([0.0])), [[1, 1, 0, 0, 0, 0]]
    )


def test_joined_embeddings_share_their_encoders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(frozen_features.ENCODERS, "minilm", CountingEncoder)
    monkeypatch.setitem(frozen_features.ENCODERS, "use", CountingEncoder)
    featurizers = make_featurizers(["tfidf", "minilm", "minilm+use"], tmp_path)
    assert featurizers["minilm+use"].parts[0] is featurizers["minilm"]
    rows = [_row("replies-b", "train", 1, 1)]
    joined = featurizers["minilm+use"].transform(rows)
    assert joined.shape == (1, 18)  # two encoders x [reply, parent, reply*parent] x 3
    np.testing.assert_allclose(joined[:, :9], featurizers["minilm"].transform(rows))
    for bad in ("tfidf+minilm", "use+use", "bert"):
        with pytest.raises(ValueError, match="unknown feature set"):
            make_featurizers([bad], tmp_path)


def test_tfidf_reads_the_parent_as_a_prefixed_second_field() -> None:
    grams = tfidf_analyzer()(("you idiot", "idiot question"))
    assert {"you", "idiot", "you idiot"} <= set(grams)
    assert {"parent:idiot", "parent:question", "parent:idiot question"} <= set(grams)
    assert "idiot question" not in grams  # the parent's words never land in the reply's columns
    assert tfidf_analyzer()(("you idiot", None)) == ["you", "idiot", "you idiot"]


def test_a_second_run_reuses_the_embedding_cache(prepared: Path, tmp_path: Path) -> None:
    rows, config = load_rows(prepared), _config(prepared, tmp_path)
    first = CountingEncoder()
    before = run_loso(rows, config, {"fake": EmbeddingFeatures(first, config.cache_dir)})
    assert first.encoded  # every distinct text once, parents included
    assert len(first.encoded) == len(set(first.encoded))
    assert "has anyone else felt this way?" in first.encoded

    second = CountingEncoder()
    after = run_loso(rows, config, {"fake": EmbeddingFeatures(second, config.cache_dir)})
    assert second.encoded == []
    assert after == before


def test_an_unfinished_cache_chunk_is_recomputed(tmp_path: Path) -> None:
    rows = [_row("forum-a", "train", n, n % 2) for n in range(4)]
    EmbeddingFeatures(CountingEncoder(), tmp_path).transform(rows)
    for keys_file in (tmp_path / "fake").glob("chunk-*.json"):
        keys_file.unlink()  # as if killed between writing the vectors and their keys
    again = CountingEncoder()
    EmbeddingFeatures(again, tmp_path).transform(rows)
    assert sorted(again.encoded) == sorted(r.text for r in rows)


def test_the_report_has_a_row_per_source_and_keeps_hand_written_notes(
    prepared: Path, tmp_path: Path
) -> None:
    report = run_loso(load_rows(prepared), _config(prepared, tmp_path), {"tfidf": TfidfFeatures()})
    out = tmp_path / "docs" / "loso.md"
    write_report(report, out, "triage evaluate-loso --features tfidf")
    text = out.read_text()
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(SOURCES)  # header + one row per held-out source
    for source in SOURCES:
        assert sum(line.startswith(f"| {source} |") for line in table) == 1
    assert "`triage evaluate-loso --features tfidf`" in text
    assert json.loads(out.with_suffix(".json").read_text())["labels"]["hostile"]

    out.write_text(text + "Reading: TF-IDF carries.\n")
    write_report(report, out, "triage evaluate-loso --features tfidf")
    assert out.read_text().endswith(KEEP_MARKER + "\nReading: TF-IDF carries.\n")


def test_cli_writes_the_report(prepared: Path, tmp_path: Path) -> None:
    out = tmp_path / "loso.md"
    result = run_cli(
        "evaluate-loso", "--data", prepared, "--labels", "hostile", "--features", "tfidf",
        "--out", out, "--cache", tmp_path / "cache",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "| forum-a |" in out.read_text()
    assert out.with_suffix(".json").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--features", "tfidf,bert", "bert"),
        ("--features", "tfidf+use", "tfidf+use"),
        ("--labels", "rudeness", "rudeness"),
        ("--labels", "hostile+spam", "hostile+spam"),
    ],
)
def test_cli_refuses_unknown_names(
    prepared: Path, tmp_path: Path, option: str, value: str, message: str
) -> None:
    result = run_cli("evaluate-loso", "--data", prepared, option, value, "--out", tmp_path / "x.md")
    assert result.exit_code == 2
    assert message in result.output and "expected a comma list" in result.output


def test_cli_explains_missing_data(tmp_path: Path) -> None:
    result = run_cli("evaluate-loso", "--data", tmp_path / "nowhere", "--features", "tfidf")
    assert result.exit_code == 1
    assert "triage data prepare" in result.output


def test_synthetic_rows_are_not_a_source():
    from triage.training.data.rows import Row
    from triage.training.evaluation.loso import carrying_sources

    def row(i: int, hostile: int, synthetic: bool) -> Row:
        labels = {"self_harm": 0, "distress": 0, "hostile": hostile, "spam": 0}
        source = "synthetic" if synthetic else "forum"
        return Row(
            id=f"{source}{i}",
            text=f"text {i}",
            source=source,
            group=f"g{i}",
            split="train",
            labels=labels,
            synthetic=synthetic,
            made_by="test" if synthetic else None,
        )

    rows = [row(i, i % 2, synthetic) for synthetic in (False, True) for i in range(40)]
    assert carrying_sources(rows, "hostile") == ["forum"]

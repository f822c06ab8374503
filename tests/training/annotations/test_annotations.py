"""Annotation tooling on hand-written fixtures: sample, import (and its checks), join, agreement,
and attaching labels to rows. Every text here is invented for these tests."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli
from triage.domain.labels import LABELS
from triage.training.annotations.agreement import agreement, cohen_kappa, write_agreement
from triage.training.annotations.files import (
    ManifestItem,
    item_key,
    read_batch,
    read_manifest,
    threads_from_rows,
    write_manifest,
)
from triage.training.annotations.importing import (
    AnnotationImportError,
    find_evidence,
    import_labels,
)
from triage.training.annotations.join import join_labels
from triage.training.annotations.sample import SampleConfig, mentions_imminence, pair_score, sample
from triage.training.data.annotation_labels import (
    KINDS,
    LabelRecord,
    attach_annotations,
    load_labels,
    read_labels,
    write_labels,
)
from triage.training.data.rows import Annotation, Row

SMALL = SampleConfig(
    seed=7, tiers=40, pairs=30, threads=6, double_tiers=10, double_pairs=8, batch_size=15
)


def _split(n: int) -> str:
    return "test" if n % 4 == 0 else "dev" if n % 4 == 1 else "train"


def _row(row_id, text, source, n, parent=None, group=None, **labels) -> Row:
    full = dict.fromkeys(LABELS) | labels
    return Row(
        id=row_id,
        text=text,
        source=source,
        group=group or f"g:{row_id}",
        split=_split(n),
        parent_text=parent,
        labels=full,
    )


def fixture_rows() -> list[Row]:
    rows = []
    for n in range(16):
        rows += [
            _row(
                f"sdcnl:sw:{n}",
                f"Everyone would be better off without me, day {n}.",
                "sdcnl",
                n,
                self_harm=1,
            ),
            _row(
                f"sdcnl:im:{n}",
                f"I want to end my life tonight, the pills are ready {n}.",
                "sdcnl",
                n,
                self_harm=1,
            ),
            _row(
                f"sdcnl:dep:{n}",
                f"Everything feels grey and I cannot get up, week {n}.",
                "sdcnl",
                n,
                self_harm=0,
                distress=1,
            ),
            _row(
                f"dreaddit:{n}",
                f"My landlord raised the rent again and I am stressed {n}.",
                "dreaddit",
                n,
                distress=1,
            ),
            _row(
                f"counselchat:q:{n}",
                f"How do I find a counsellor near me? Question {n}.",
                "counselchat",
                n,
            ),
            _row(
                f"goemotions:{n}",
                f"What a lovely photo of your dog number {n}!",
                "goemotions",
                n,
                self_harm=0,
            ),
            _row(
                f"goemotions:h{n}",
                f"This traffic is killing me, stuck again {n}.",
                "goemotions",
                n,
                self_harm=0,
            ),
        ]
        sad = f"I feel so alone and sad lately, week {n}."
        rows += [
            _row(f"epitome:t1_a{n}", f"me too, it is awful and I hate it {n}", "epitome", n, sad),
            _row(f"epitome:t1_b{n}", f"Have you tried a counsellor? {n}", "epitome", n, sad),
            _row(f"epitome:t1_c{n}", f"That sounds so hard, {n} weeks is long.", "epitome", n, sad),
            _row(f"epitome:t1_d{n}", f"I know how you feel, {n} weeks of it.", "epitome", n, sad),
            _row(
                f"toxichat:x:{n}:2",
                f"same here, everything sucks and I am tired {n}",
                "toxichat",
                n,
                f"Title: rough week {n}",
                group=f"thread:x:{n}",
            ),
            _row(
                f"toxichat:x:{n}:3",
                f"Ugh it is the worst, so unfair {n}",
                "toxichat",
                n,
                f"same here, everything sucks and I am tired {n}",
                group=f"thread:x:{n}",
            ),
            _row(
                f"counselchat:a:{n}",
                f"Try a short walk and talk to a therapist {n}.",
                "counselchat",
                n,
                f"How do I cope with stress? Question {n}.",
            ),
        ]
    return rows


def write_prepared(folder: Path, rows: list[Row]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        with (folder / f"{split}.jsonl").open("w", encoding="utf-8") as handle:
            for row in rows:
                if row.split == split:
                    handle.write(json.dumps(row.to_json()) + "\n")
    return folder


@pytest.fixture()
def sampled(tmp_path) -> dict[str, Path]:
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    work, notes = tmp_path / "work", tmp_path / "annotations"
    sample(data, work, notes, SMALL)
    return {"data": data, "work": work, "annotations": notes, "root": tmp_path}


def _manifest(paths, kind: str) -> dict[str, ManifestItem]:
    return {m.item_id: m for m in read_manifest(paths["annotations"] / KINDS[kind].manifest_file)}


def _batch_files(work: Path, prefix: str) -> list[Path]:
    return sorted(p for p in work.glob(f"{prefix}*.jsonl") if not p.name.endswith(".labels.jsonl"))


# --- sample -----------------------------------------------------------------------------------


def test_sample_sizes_strata_and_splits(sampled):
    tiers = _manifest(sampled, "tiers")
    assert len(tiers) == SMALL.tiers
    strata = {m.stratum for m in tiers.values()}
    assert {"suicidewatch", "distress", "counselchat_question", "everyday"} <= strata
    assert {m.split for m in tiers.values()} == {"train", "dev", "test"}
    test_share = sum(m.split == "test" for m in tiers.values()) / len(tiers)
    assert 0.2 <= test_share <= 0.3
    imminent = [m for m in tiers.values() if m.stratum == "enriched_imminence"]
    assert imminent and all(m.unit_id.startswith("sdcnl:") for m in imminent)
    pairs = _manifest(sampled, "pairs")
    assert len(pairs) == SMALL.pairs
    enriched = [m for m in pairs.values() if m.stratum.startswith("enriched")]
    assert enriched and all(m.score >= 1 for m in enriched)
    threads = _manifest(sampled, "threads")
    assert len(threads) == SMALL.threads
    assert all(len(m.turn_ids) == 2 for m in threads.values())


def test_batches_hold_only_ids_and_text(sampled):
    shapes = {
        "tiers": {"id", "text"},
        "pairs": {"id", "parent_text", "text"},
        "threads": {"id", "turns"},
    }
    for kind, keys in shapes.items():
        files = _batch_files(sampled["work"], f"{kind}-p1")
        assert files, kind
        for path in files:
            items = read_batch(path).values()
            assert all(set(item) == keys for item in items), path.name
            assert all(item["id"].startswith("h-") for item in items)
            assert 1 <= len(items) <= 2 * SMALL.batch_size
    first_thread = next(iter(read_batch(_batch_files(sampled["work"], "threads-p1")[0]).values()))
    assert first_thread["turns"][0].startswith("Title: rough week")
    assert len(first_thread["turns"]) == 3


def test_manifests_carry_no_text(sampled):
    texts = {row.text for row in fixture_rows()} | {row.parent_text for row in fixture_rows()}
    for path in sampled["annotations"].glob("*.csv"):
        content = path.read_text()
        assert not any(text and text in content for text in texts), path.name


def test_double_subset_is_a_reordered_subset(sampled):
    for kind, size in (("tiers", SMALL.double_tiers), ("pairs", SMALL.double_pairs)):
        first = [i for p in _batch_files(sampled["work"], f"{kind}-p1") for i in read_batch(p)]
        second = [i for p in _batch_files(sampled["work"], f"{kind}-p2") for i in read_batch(p)]
        assert len(second) == size and set(second) <= set(first)
        order_in_first = [i for i in first if i in set(second)]
        assert order_in_first != second  # shuffled on its own
        manifest = _manifest(sampled, kind)
        assert {i for i, m in manifest.items() if m.double_batch} == set(second)


def test_sample_is_deterministic_and_seeded(sampled, tmp_path):
    again = tmp_path / "again"
    sample(sampled["data"], again / "work", again / "annotations", SMALL)
    for name in ("manifest_tiers.csv", "manifest_pairs.csv", "manifest_threads.csv"):
        assert (again / "annotations" / name).read_text() == (
            sampled["annotations"] / name
        ).read_text()
    for path in _batch_files(sampled["work"], ""):
        assert (again / "work" / path.name).read_text() == path.read_text()
    other = tmp_path / "other"
    sample(
        sampled["data"],
        other / "work",
        other / "annotations",
        SampleConfig(**{**SMALL.__dict__, "seed": 8}),
    )
    assert (other / "annotations" / "manifest_tiers.csv").read_text() != (
        sampled["annotations"] / "manifest_tiers.csv"
    ).read_text()


def test_sample_refuses_to_orphan_annotator_output(sampled):
    (sampled["work"] / "tiers-p1-01.labels.jsonl").write_text("")
    with pytest.raises(FileExistsError, match="annotator output"):
        sample(sampled["data"], sampled["work"], sampled["annotations"], SMALL)


def test_sample_config_is_checked():
    with pytest.raises(ValueError, match="cannot be larger"):
        SampleConfig(tiers=10, double_tiers=20)
    with pytest.raises(ValueError, match="split_shares"):
        SampleConfig(split_shares=(("train", 0.5), ("test", 0.2)))


def test_heuristics():
    sad = "I feel so sad and alone."
    assert pair_score("me too, it's awful and I hate it", sad) >= 3
    assert pair_score("Have you tried talking to a counsellor?", sad) < 0
    assert pair_score("Great game last night", "Who won?") == 0
    assert mentions_imminence("I'm going to kill myself tonight")
    assert not mentions_imminence("I went to the bridge tonight to watch the fireworks")


def test_threads_are_read_from_reply_chains():
    def reply(i, text, parent, group="thread:t:1"):
        return Row(
            id=f"toxichat:t:1:{i}",
            text=text,
            parent_text=parent,
            source="toxichat",
            group=group,
            split="train",
        )

    # turn 1 was merged into another thread's copy: the chain of replies still gives it
    whole = [reply(3, "c", "b"), reply(2, "b", "a")]
    broken = [reply(2, "b", "a", "thread:t:2"), reply(3, "c", "x", "thread:t:2")]
    threads = threads_from_rows(whole + broken)
    assert list(threads) == ["toxichat:thread:t:1"]
    assert [r.text for r in threads["toxichat:thread:t:1"]] == ["b", "c"]


# --- import -----------------------------------------------------------------------------------


def _items(paths, batch: str) -> dict[str, dict]:
    return read_batch(paths["work"] / f"{batch}.jsonl")


def _answer(kind: str, item: dict) -> dict:
    if kind != "tiers":
        text = item.get("text") or " ".join(item["turns"])
        return {"id": item["id"], "level": "some" if "same" in text else "none"}
    if "better off without me" in item["text"]:
        return {"id": item["id"], "tier": "red", "evidence_quote": "better off without me"}
    return {"id": item["id"], "tier": "green"}


def write_answers(paths, batch: str, edit=None) -> Path:
    kind = batch.split("-")[0]
    lines = [_answer(kind, item) for item in _items(paths, batch).values()]
    if edit:
        lines = edit(lines)
    out = paths["work"] / f"{batch}.labels.jsonl"
    out.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return out


def _all_batches(paths) -> list[str]:
    return [p.stem for p in _batch_files(paths["work"], "")]


def test_import_writes_ids_labels_and_evidence_offsets(sampled):
    for batch in _all_batches(sampled):
        write_answers(sampled, batch)
    summary = import_labels(sampled["work"], sampled["annotations"])
    assert summary.counts["tiers"][(1, "red")] > 0
    tiers = read_labels(sampled["annotations"] / "self_harm_tiers.csv", KINDS["tiers"])
    texts = {row.id: row.text for row in fixture_rows()}
    red = [r for r in tiers if r.label == "red"]
    assert red and all(texts[r.unit_id][slice(*r.evidence)] == "better off without me" for r in red)
    assert {r.pass_ for r in tiers} == {1, 2}
    header = (sampled["annotations"] / "self_harm_tiers.csv").read_text().splitlines()[0]
    assert header == "id,tier,evidence_start,evidence_end,pass"
    pairs = (sampled["annotations"] / "corumination_pairs.csv").read_text().splitlines()
    assert pairs[0] == "id,level,pass" and len(pairs) == 1 + SMALL.pairs + SMALL.double_pairs
    assert all(not any(t in line for t in texts.values()) for line in pairs)


def test_evidence_may_differ_in_whitespace_only():
    text = "I can't.\nI want to\n\nend it tonight."
    assert find_evidence(text, "I want to end it tonight") == (9, 34)
    assert find_evidence(text, " it tonight. ") == (24, 35)  # exact, outer spaces dropped
    assert find_evidence(text, "want to end") is not None
    assert find_evidence(text, "I want to end it Tonight") is None
    assert find_evidence(text, "   ") is None


def _import_problems(paths) -> list[str]:
    with pytest.raises(AnnotationImportError) as caught:
        import_labels(paths["work"], paths["annotations"])
    assert not (paths["annotations"] / "self_harm_tiers.csv").exists()  # nothing written
    return caught.value.problems


def test_import_rejects_unknown_ids_bad_labels_and_missing_quotes(sampled):
    def spoil(lines):
        lines[0] = {"id": "h-000000000000", "tier": "green"}
        lines[1] = {**lines[1], "tier": "orange", "evidence_quote": None}
        red = next(i for i, line in enumerate(lines) if line["tier"] == "red")
        lines[red] = {**lines[red], "evidence_quote": "better of without me"}
        return lines

    write_answers(sampled, "tiers-p1-01", spoil)
    problems = _import_problems(sampled)
    text = "\n".join(problems)
    assert "unknown id 'h-000000000000'" in text
    assert "tier must be one of" in text and "'orange'" in text
    assert "not found verbatim" in text
    assert "items of the batch have no label" in text  # the line replaced by the unknown id


def test_import_rejects_other_malformed_lines(sampled):
    def spoil(lines):
        green = [i for i, line in enumerate(lines) if line["tier"] == "green"]
        red = next(i for i, line in enumerate(lines) if line["tier"] == "red")
        lines[red] = {"id": lines[red]["id"], "tier": "red"}  # no evidence
        lines[green[0]] = {**lines[green[0]], "evidence_quote": "photo"}
        lines[green[1]] = {**lines[green[1]], "confidence": 0.9}
        lines.append(dict(lines[green[2]]))  # twice
        return lines

    path = write_answers(sampled, "tiers-p1-01", spoil)
    with path.open("a") as handle:
        handle.write("{not json\n")
    text = "\n".join(_import_problems(sampled))
    assert "needs evidence_quote" in text
    assert "only given for crisis/red" in text
    assert "unexpected keys ['confidence']" in text
    assert "labelled twice" in text
    assert "invalid JSON" in text


def test_import_of_an_unknown_batch_name_or_missing_batch(sampled):
    (sampled["work"] / "tiers-p3-01.labels.jsonl").write_text("")
    (sampled["work"] / "pairs-p1-99.labels.jsonl").write_text("")
    text = "\n".join(_import_problems(sampled))
    assert "batch name must look like" in text
    assert "pairs-p1-99.jsonl not found" in text


def test_partial_import_and_merge(sampled):
    write_answers(sampled, "pairs-p1-01", lambda lines: lines[:3])
    with pytest.raises(AnnotationImportError, match="have no label"):
        import_labels(sampled["work"], sampled["annotations"])
    import_labels(sampled["work"], sampled["annotations"], partial=True)
    assert len(load_labels(sampled["annotations"], "pairs")) == 3
    (sampled["work"] / "pairs-p1-01.labels.jsonl").unlink()
    write_answers(sampled, "pairs-p1-02")
    import_labels(sampled["work"], sampled["annotations"])
    batch_two = len(_items(sampled, "pairs-p1-02"))
    assert len(load_labels(sampled["annotations"], "pairs")) == 3 + batch_two  # merged, kept


# --- agreement --------------------------------------------------------------------------------


def test_kappa_matches_scikit_learn():
    from sklearn.metrics import cohen_kappa_score

    rng = random.Random(3)
    first = [rng.randrange(4) for _ in range(300)]
    second = [x if rng.random() < 0.6 else rng.randrange(4) for x in first]
    for weights in (None, "linear", "quadratic"):
        ours = cohen_kappa(first, second, 4, weights)
        assert ours == pytest.approx(cohen_kappa_score(first, second, weights=weights), abs=1e-12)
    assert cohen_kappa([0, 1, 2], [0, 1, 2], 3) == 1.0
    assert math.isnan(cohen_kappa([1, 1], [1, 1], 3))
    with pytest.raises(ValueError, match="equally long"):
        cohen_kappa([0], [0, 1], 2)


def test_agreement_report(sampled):
    kind = KINDS["tiers"]
    records = [
        LabelRecord(f"p{i}", "green" if i % 2 else "red", 1, (0, 3) if i % 2 == 0 else None)
        for i in range(20)
    ]
    second = [
        LabelRecord(r.unit_id, r.label if i < 16 else "amber", 2, None)
        for i, r in enumerate(records)
    ]
    second[0] = LabelRecord("p0", "skip", 2)
    write_labels(sampled["annotations"] / kind.labels_file, kind, records + second)
    result = agreement(sampled["annotations"], "tiers")
    assert len(result.pairs) == 19 and result.skipped == 1
    assert 0 < result.kappas["quadratic"][0] < 1
    assert result.kappas["binary urgent (crisis+red)"][0] < 1
    results, path = write_agreement(sampled["annotations"])
    report = path.read_text()
    assert "## tiers" in report and "| quadratic |" in report and "| red |" in report


# --- join and attach --------------------------------------------------------------------------


def test_join_puts_texts_back_from_the_adapters(tmp_path):
    notes = tmp_path / "annotations"
    text = next(r.text for r in _adapter_rows("sdcnl") if r.id == "sdcnl:train:1")
    start = text.index("thinking")
    write_labels(
        notes / "self_harm_tiers.csv",
        KINDS["tiers"],
        [
            LabelRecord("sdcnl:train:1", "red", 1, (start, start + 8)),
            LabelRecord("sdcnl:test:11", "amber", 1),
        ],
    )
    write_labels(
        notes / "corumination_pairs.csv",
        KINDS["pairs"],
        [LabelRecord("epitome:t1_cc22dd", "none", 1)],
    )
    write_labels(
        notes / "corumination_threads.csv",
        KINDS["threads"],
        [LabelRecord("toxichat:thread:train:0", "none", 1)],
    )
    thread = ManifestItem(
        item_key("threads", "toxichat:thread:train:0"),
        "toxichat:thread:train:0",
        "toxichat",
        "train",
        "random",
        "threads-p1-01",
        turn_ids=("toxichat:train:0:2", "toxichat:train:0:3"),
    )
    write_manifest(notes / "manifest_threads.csv", [thread])
    source = FIXTURES / "handmade"
    out = tmp_path / "joined.jsonl"
    assert join_labels("tiers", notes, source, out) == 2
    lines = {d["id"]: d for d in map(json.loads, out.read_text().splitlines())}
    assert lines["sdcnl:train:1"]["evidence"] == "thinking"
    assert lines["sdcnl:train:1"]["text"] == text
    assert lines["sdcnl:test:11"]["evidence"] is None
    join_labels("pairs", notes, source, out)
    pair = json.loads(out.read_text())
    assert pair["level"] == "none" and pair["parent_text"].startswith("I haven't left my flat")
    join_labels("threads", notes, source, out)
    turns = json.loads(out.read_text())["turns"]
    assert turns == [
        "Title: rough week \n anyone else struggling?",
        "Yes, hang in there.",
        "Shut up, you clearly know nothing.",
    ]


def test_join_reports_ids_the_adapters_do_not_know(tmp_path):
    notes = tmp_path / "annotations"
    write_labels(
        notes / "self_harm_tiers.csv", KINDS["tiers"], [LabelRecord("sdcnl:x:9", "red", 1)]
    )
    with pytest.raises(ValueError, match="not produced by the adapters"):
        join_labels("tiers", notes, FIXTURES / "handmade", tmp_path / "out.jsonl")
    write_labels(notes / "self_harm_tiers.csv", KINDS["tiers"], [LabelRecord("nope:1", "red", 1)])
    with pytest.raises(ValueError, match="known source"):
        join_labels("tiers", notes, FIXTURES / "handmade", tmp_path / "out.jsonl")


def _adapter_rows(source: str) -> list[Row]:
    from triage.training.data.adapters import ADAPTERS

    return list(ADAPTERS[source](FIXTURES / "handmade" / source))


def test_attach_annotations_to_rows(tmp_path):
    rows = fixture_rows()
    write_labels(
        tmp_path / "self_harm_tiers.csv",
        KINDS["tiers"],
        [
            LabelRecord("sdcnl:sw:1", "red", 1, (0, 8)),
            LabelRecord("sdcnl:sw:1", "amber", 2),
            LabelRecord("dreaddit:2", "skip", 1),
        ],
    )
    write_labels(
        tmp_path / "corumination_pairs.csv",
        KINDS["pairs"],
        [LabelRecord("epitome:t1_a3", "strong", 1)],
    )
    assert attach_annotations(rows, tmp_path) == 2
    by_id = {row.id: row for row in rows}
    assert by_id["sdcnl:sw:1"].annotation == Annotation(tier="red", evidence=(0, 8))
    assert by_id["epitome:t1_a3"].annotation.corumination == "strong"
    assert by_id["dreaddit:2"].annotation is None  # skipped items carry no label
    assert (
        Row.from_json(json.loads(json.dumps(by_id["sdcnl:sw:1"].to_json()))) == by_id["sdcnl:sw:1"]
    )
    assert "annotation" not in by_id["dreaddit:2"].to_json()
    with pytest.raises(ValueError, match="tier must be one of"):
        Annotation(tier="orange")


def test_label_files_are_checked_when_read(tmp_path):
    path = tmp_path / "corumination_pairs.csv"
    path.write_text("id,level,pass\nepitome:t1_x,lots,1\n")
    with pytest.raises(ValueError, match="level must be one of"):
        read_labels(path, KINDS["pairs"])
    path.write_text("id,tier,pass\nepitome:t1_x,none,1\n")
    with pytest.raises(ValueError, match="expected columns"):
        read_labels(path, KINDS["pairs"])


# --- CLI --------------------------------------------------------------------------------------


def test_cli_sample_import_agreement_join(tmp_path):
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    work, notes = tmp_path / "work", tmp_path / "annotations"
    sizes = [
        "--tiers",
        40,
        "--pairs",
        30,
        "--threads",
        6,
        "--double-tiers",
        10,
        "--double-pairs",
        8,
        "--batch-size",
        15,
    ]
    result = run_cli(
        "data",
        "annotations",
        "sample",
        "--data",
        data,
        "--work",
        work,
        "--annotations",
        notes,
        *sizes,
    )
    assert result.exit_code == 0, result.output
    assert "tiers: 40 items (10 twice)" in result.output and "tiers-p2-01" in result.output
    paths = {"work": work, "annotations": notes}
    for batch in _all_batches(paths):
        write_answers(paths, batch)
    result = run_cli("data", "annotations", "import", "--work", work, "--annotations", notes)
    assert result.exit_code == 0, result.output
    assert "tiers pass 1" in result.output
    result = run_cli("data", "annotations", "agreement", "--annotations", notes)
    assert result.exit_code == 0, result.output
    assert "kappa quadratic" in result.output and (notes / "AGREEMENT.md").exists()
    result = run_cli(
        "data",
        "annotations",
        "join",
        "--kind",
        "tiers",
        "--source",
        FIXTURES / "handmade",
        "--annotations",
        notes,
        "--out",
        tmp_path / "j.jsonl",
    )
    assert result.exit_code == 1 and "not produced by the adapters" in result.output


def test_cli_import_errors_are_reported(tmp_path):
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    work, notes = tmp_path / "work", tmp_path / "annotations"
    sample(data, work, notes, SMALL)
    (work / "tiers-p1-01.labels.jsonl").write_text('{"id": "h-123", "tier": "green"}\n')
    result = run_cli("data", "annotations", "import", "--work", work, "--annotations", notes)
    assert result.exit_code == 1
    assert "unknown id 'h-123'" in result.output and "nothing was written" in result.output
    result = run_cli(
        "data", "annotations", "sample", "--data", data, "--work", work, "--annotations", notes
    )
    assert result.exit_code == 1 and "annotator output" in result.output


def test_cli_help():
    for command in ("sample", "import", "join", "agreement"):
        result = run_cli("data", "annotations", command, "--help")
        assert result.exit_code == 0 and "Usage" in result.output, command

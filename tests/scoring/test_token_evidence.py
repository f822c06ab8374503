"""Token logits in the graph (training/export/onnx.py WithTokenLogits) and evidence from them
(evidence_mode="context" in scoring/evidence.py), next to the default sentence-by-sentence
evidence."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from triage.domain.labels import LABELS
from triage.domain.text import sentence_spans
from triage.scoring.bundle import load_bundle
from triage.scoring.encoding import PairEncoder
from triage.scoring.results import ScoreInput
from triage.scoring.scorer import OnnxScorer
from triage.scoring.session import TOKEN_LOGITS, ModelRun
from triage.settings import Settings
from triage.training.fit.args import PACKAGED_ENCODER, resolve_encoder

TEXT = "I had a long day at work. You are a worthless idiot and everyone knows it. See you."


@pytest.fixture(scope="module")
def encoder() -> PairEncoder:
    return PairEncoder.from_file(resolve_encoder(PACKAGED_ENCODER) / "tokenizer.json", 24)


@pytest.mark.parametrize("parent", [None, "what did you do today? tell me everything please"])
def test_token_spans_follow_the_encoding_with_its_truncation(encoder, parent):
    text = TEXT + " " + "more words here. " * 10 + "the very end"
    encoded = encoder.encode(text, parent)
    spans = encoder.text_token_spans(text, parent)
    assert encoded.input_ids[len(spans) + 1] == encoder.sep_id  # [CLS] text tokens [SEP]
    assert encoder.sep_id not in encoded.input_ids[1 : len(spans) + 1]
    words = [text[start:end] for start, end in spans]
    assert words[0] == "I" and text[spans[-1][0] : spans[-1][1]] == "end"  # head and tail
    assert all(a[0] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    full = encoder.tokenizer.encode(text, add_special_tokens=False)
    assert encoded.input_ids[1 : len(spans) + 1] == [
        full.ids[full.offsets.index(span)] for span in spans
    ]


def test_token_logits_average_to_the_logits(tiny_checkpoint):
    from triage.training.export.onnx import WithTokenLogits
    from triage.training.fit.model import load_checkpoint

    model, _ = load_checkpoint(tiny_checkpoint)
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0, 0]])
    types = torch.zeros_like(ids)
    logits, tokens = WithTokenLogits(model)(ids, mask, types)
    assert tokens.shape == (1, 8, model.num_outputs)
    torch.testing.assert_close(tokens[0, :6].mean(dim=0), logits[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(logits, model(ids, mask, types), atol=1e-6, rtol=0)


def test_the_exported_bundle_has_token_logits(tiny_bundle):
    bundle = load_bundle(tiny_bundle)
    assert not OnnxScorer(bundle, Settings().tier_rules).token_evidence  # the default: sentences
    scorer = OnnxScorer(bundle, Settings().tier_rules, evidence_mode="context")
    assert scorer.token_evidence
    run = scorer.model.run_alone(scorer.encoder.encode(TEXT))
    assert run.tokens.shape == (len(scorer.encoder.encode(TEXT)), len(scorer.bundle.outputs))
    # int8: the head's two MatMuls are quantised apart, so the identity holds approximately
    np.testing.assert_allclose(run.tokens.mean(axis=0), run.logits, atol=0.1)
    assert (
        TOKEN_LOGITS
        not in OnnxScorer(scorer.bundle, Settings().tier_rules, evidence=False).model.output_names
    )


class HostileInSecondSentence:
    """A stand-in session: flags `hostile` only, and its token logits are high on the tokens of
    the second sentence and low elsewhere."""

    def __init__(self, scorer: OnnxScorer, text: str) -> None:
        self.outputs = len(scorer.bundle.outputs)
        spans = sentence_spans(text)
        positions = scorer.encoder.text_token_spans(text)
        self.second = [
            k + 1 for k, (s, _) in enumerate(positions) if spans[1][0] <= s < spans[1][1]
        ]

    def run(self, names, feeds):
        width = feeds["input_ids"].shape[1]
        logits = np.full((1, self.outputs), -8.0, dtype=np.float32)
        logits[0, LABELS.index("hostile")] = 8.0
        tokens = np.zeros((1, width, self.outputs), dtype=np.float32)
        tokens[0, self.second, LABELS.index("hostile")] = 5.0
        tokens[0, self.second[0], LABELS.index("hostile")] = 6.0  # the peak is in sentence 2
        return [logits, tokens][: len(names)]


def test_evidence_is_the_sentence_whose_tokens_carry_the_score(tiny_bundle):
    scorer = OnnxScorer(load_bundle(tiny_bundle), Settings().tier_rules, evidence_mode="context")
    scorer.model.session = HostileInSecondSentence(scorer, TEXT)
    [result] = scorer.score([ScoreInput("a", TEXT)])
    assert result.flags == ["hostile"]
    [evidence] = result.evidence
    assert TEXT[evidence.start : evidence.end] == "You are a worthless idiot and everyone knows it."


def test_by_default_each_sentence_is_scored_alone(tiny_bundle):
    scorer = OnnxScorer(load_bundle(tiny_bundle), Settings().tier_rules)
    calls = []
    real = scorer.model.run_alone
    scorer.model.run_alone = lambda encoded: calls.append(1) or ModelRun(real(encoded).logits)
    item = ScoreInput("a", TEXT)
    flags = ["hostile"]
    evidence = scorer.evidence_finder.find(item, flags, scorer.score([item])[0].tier, None)
    assert len(calls) == 1 + len(sentence_spans(TEXT))  # the post, then each sentence again
    assert [e.label for e in evidence] == ["hostile"]


@pytest.mark.parametrize("fp32_first_layer", [True, False])
def test_the_first_layer_stays_fp32_unless_told(tiny_checkpoint, tmp_path, fp32_first_layer):
    import onnx

    from triage.training.export.onnx import FP32_LAYER, build_int8
    from triage.training.fit.model import load_checkpoint

    model, _ = load_checkpoint(tiny_checkpoint)
    int8, _ = build_int8(model, tmp_path, fp32_first_layer)
    graph = onnx.load(str(int8)).graph
    float_matmuls = [n.name for n in graph.node if n.op_type == "MatMul"]
    in_first = [name for name in float_matmuls if name.startswith(FP32_LAYER)]
    assert bool(in_first) == fp32_first_layer
    assert all(name.startswith(FP32_LAYER) for name in float_matmuls)  # the rest is int8
    assert [o.name for o in graph.output] == ["logits", "token_logits"]

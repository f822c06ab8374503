"""The bar a fine-tuned model must clear: TF-IDF + logistic regression, one per label."""

from __future__ import annotations

from typing import Any

import numpy as np

from triage.domain.labels import LABELS
from triage.training.data.rows import Row
from triage.training.fit.calibrate import known_both_classes
from triage.training.fit.tensor_batches import label_matrix


def _document(row: Row) -> str:
    return row.text if not row.parent_text else f"{row.text} [PARENT] {row.parent_text}"


class TfidfBaseline:
    def __init__(self, seed: int = 13) -> None:
        self.seed = seed
        self.models: dict[str, Any] = {}  # label -> a fitted sklearn LogisticRegression

    def fit(self, rows: list[Row]) -> TfidfBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.vectorizer = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True
        )
        features = self.vectorizer.fit_transform([_document(r) for r in rows])
        targets, mask = label_matrix(rows)
        for j, label in enumerate(LABELS):
            known = known_both_classes(targets, mask, j)
            if known is None:
                continue
            model = LogisticRegression(max_iter=2000, C=4.0, class_weight="balanced")
            model.fit(features[known], targets[known, j].astype(int))
            self.models[label] = model
        return self

    def predict(self, rows: list[Row]) -> np.ndarray:
        """(n, n_labels) probabilities; NaN for labels it was not trained on."""
        features = self.vectorizer.transform([_document(r) for r in rows])
        probs = np.full((len(rows), len(LABELS)), np.nan, dtype=np.float64)
        for j, label in enumerate(LABELS):
            if label in self.models:
                probs[:, j] = self.models[label].predict_proba(features)[:, 1]
        return probs

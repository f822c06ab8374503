"""Text (and parent) -> token ids, shared by training and serving so both see identical inputs.

Uses the `tokenizers` library only (no transformers), with our own truncation: a long post keeps
its head and its tail, because the opening gives context and the closing lines are where a
disclosure or a link often sits. A reply is encoded as the pair `[CLS] text [SEP] parent [SEP]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

PARENT_SHARE = 0.33  # at most this share of the length budget goes to the parent text


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    token_type_ids: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def keep_head_and_tail(ids: list[int], budget: int) -> list[int]:
    """Keep the first and last tokens of `ids`, `budget` in all (head gets the odd one)."""
    if len(ids) <= budget:
        return ids
    if budget <= 0:
        return []
    head = (budget + 1) // 2
    tail = budget - head
    return ids[:head] + (ids[len(ids) - tail :] if tail else [])


def split_budget(text_len: int, parent_len: int, budget: int) -> tuple[int, int]:
    """Share `budget` tokens between text and parent; the text has first claim."""
    parent_cap = min(parent_len, int(budget * PARENT_SHARE))
    text_take = min(text_len, budget - parent_cap)
    parent_take = min(parent_len, budget - text_take)
    return text_take, parent_take


class PairEncoder:
    def __init__(self, tokenizer: Tokenizer, max_length: int) -> None:
        if max_length < 8:
            raise ValueError(f"max_length must be at least 8, found {max_length}")
        # The tokenizer.json shipped with the base model bakes in padding and truncation to 128;
        # both are turned off so our own head+tail truncation decides.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.cls_id = self._special("[CLS]")
        self.sep_id = self._special("[SEP]")
        self.pad_id = self._special("[PAD]")

    @classmethod
    def from_file(cls, path: Path | str, max_length: int) -> PairEncoder:
        return cls(Tokenizer.from_file(str(path)), max_length)

    def _special(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"tokenizer has no {token} token; a BERT-style WordPiece is expected")
        return token_id

    def _ids(self, texts: list[str]) -> list[list[int]]:
        return [e.ids for e in self.tokenizer.encode_batch(texts, add_special_tokens=False)]

    def encode_batch(self, texts: list[str], parents: list[str | None]) -> list[Encoded]:
        text_ids = self._ids(texts)
        parent_ids = self._ids([p or "" for p in parents])
        return [
            self._assemble(t, p if parent else None)
            for t, p, parent in zip(text_ids, parent_ids, parents, strict=True)
        ]

    def encode(self, text: str, parent: str | None = None) -> Encoded:
        return self.encode_batch([text], [parent])[0]

    def text_token_spans(self, text: str, parent: str | None = None) -> list[tuple[int, int]]:
        """Character spans in `text` of the text tokens of encode(text, parent), in input order:
        entry k is the token at input position k + 1 (position 0 is [CLS]; after the text come
        [SEP] and the parent's tokens). Head-and-tail truncation drops the same tokens here."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        if parent is None:
            budget = self.max_length - 2
        else:
            parent_len = len(self._ids([parent])[0])
            budget, _ = split_budget(len(encoding.ids), parent_len, self.max_length - 3)
        kept = keep_head_and_tail(list(range(len(encoding.ids))), budget)
        return [encoding.offsets[i] for i in kept]

    def _assemble(self, text: list[int], parent: list[int] | None) -> Encoded:
        if parent is None:
            body = keep_head_and_tail(text, self.max_length - 2)
            ids = [self.cls_id, *body, self.sep_id]
            return Encoded(ids, [0] * len(ids))
        text_take, parent_take = split_budget(len(text), len(parent), self.max_length - 3)
        first = [self.cls_id, *keep_head_and_tail(text, text_take), self.sep_id]
        second = [*keep_head_and_tail(parent, parent_take), self.sep_id]
        return Encoded(first + second, [0] * len(first) + [1] * len(second))


def pad(batch: list[Encoded], pad_id: int = 0) -> dict[str, np.ndarray]:
    """Stack encodings into int64 arrays padded to the longest one in the batch."""
    width = max(len(e) for e in batch)
    ids = np.full((len(batch), width), pad_id, dtype=np.int64)
    types = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros((len(batch), width), dtype=np.int64)
    for row, enc in enumerate(batch):
        ids[row, : len(enc)] = enc.input_ids
        types[row, : len(enc)] = enc.token_type_ids
        mask[row, : len(enc)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

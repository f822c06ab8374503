"""The multi-task model: one shared encoder, mean pooling, one logit per output.

Outputs are the labels, then (when trained with tiers) the ordinal tier cuts: see
triage/domain/labels.py OUTPUTS. The checkpoint's triage_model.json lists them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel

HEAD_FILE = "head.pt"
META_FILE = "triage_model.json"


class MultiLabelModel(nn.Module):
    # `encoder` is a Hugging Face encoder (BertModel): Any, because its parts are reached by
    # name (encoder.layer, config.hidden_size), which nn.Module's typing cannot follow.
    def __init__(self, encoder: Any, num_outputs: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder: Any = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_outputs)

    @property
    def num_outputs(self) -> int:
        return self.head.out_features

    def pooled(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> torch.Tensor:
        """Mean pooling over real tokens, as all-MiniLM-L6-v2 was trained with."""
        hidden = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor,
    ) -> torch.Tensor:
        return self.head(self.dropout(self.pooled(input_ids, attention_mask, token_type_ids)))

    def freeze_lower(self, layers: int) -> None:
        """Freeze the embeddings and the `layers` lowest transformer layers (0: train all)."""
        if layers <= 0:
            return
        for param in self.encoder.embeddings.parameters():
            param.requires_grad = False
        for layer in self.encoder.encoder.layer[:layers]:
            for param in layer.parameters():
                param.requires_grad = False

    def save(
        self, folder: Path, labels: tuple[str, ...], outputs: tuple[str, ...], max_length: int
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(folder / "encoder")
        torch.save(self.head.state_dict(), folder / HEAD_FILE)
        meta = {"labels": list(labels), "outputs": list(outputs), "max_length": max_length}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")


class LabelOutputsOnly(nn.Module):
    """A trained model with its extra outputs (the tier cuts) cut off, for export."""

    def __init__(self, model: MultiLabelModel, keep: int) -> None:
        super().__init__()
        self.model, self.keep = model, keep
        self.encoder: Any = model.encoder

    @property
    def num_outputs(self) -> int:
        return self.keep

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, token_type_ids: torch.Tensor
    ) -> torch.Tensor:
        return self.model(input_ids, attention_mask, token_type_ids)[:, : self.keep]


def new_model(encoder_dir: Path, num_outputs: int) -> MultiLabelModel:
    # Eager attention exports to an ONNX graph whose attention blocks ORT can fuse.
    encoder = AutoModel.from_pretrained(encoder_dir, attn_implementation="eager")
    return MultiLabelModel(encoder, num_outputs)


def load_checkpoint(folder: Path) -> tuple[MultiLabelModel, dict]:
    meta = json.loads((folder / META_FILE).read_text())
    config = AutoConfig.from_pretrained(folder / "encoder")
    encoder = AutoModel.from_pretrained(
        folder / "encoder", config=config, attn_implementation="eager"
    )
    meta.setdefault("outputs", meta["labels"])  # checkpoints from before the tier outputs
    model = MultiLabelModel(encoder, len(meta["outputs"]))
    model.head.load_state_dict(torch.load(folder / HEAD_FILE, weights_only=True))
    model.eval()
    return model, meta

"""Shared fixtures. The expensive ones (a tiny trained model and its bundle) are session-wide.

The tiny model is a 2-layer, 32-wide BERT built here with the real MiniLM tokenizer, so the whole
train -> export -> score path runs in seconds with no network and no shipped weights.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pytest

from triage.domain.labels import LABELS
from triage.domain.tier_rules import TierRules
from triage.paths import DEFAULT_CONFIG_DIR

FIXTURES = Path(__file__).parent / "fixtures"
# The shipped tier rules and priority points (configs/tiers.yaml), for tests that store items.
TIER_RULES = TierRules.load(DEFAULT_CONFIG_DIR / "tiers.yaml")
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

_TEMPLATES = {
    "self_harm": [
        "I want to end my life tonight {n}",
        "I have been cutting myself again {n}",
        "I wrote a goodbye note and I have the pills {n}",
    ],
    "distress": [
        "I feel so hopeless and tired of everything {n}",
        "nothing helps, I am so alone {n}",
    ],
    "hostile": ["you are a pathetic idiot, shut up {n}", "nobody cares what you think, loser {n}"],
    "spam": ["WIN a FREE prize, call 0906170{n} now", "cheap pills online, click http://x{n}.biz"],
    None: [
        "thanks for sharing, that helps {n}",
        "what a lovely day at the park {n}",
        "I went for a walk and it helped a bit {n}",
        "see you at five then {n}",
    ],
}


def _tier(positive: str | None, template: str) -> str:
    """The tier an annotator would give a fixture post (crisis for the one with means and a
    note, red for other self-harm, amber for distress, green otherwise)."""
    if positive == "self_harm":
        return "crisis" if "pills" in template else "red"
    return "amber" if positive == "distress" else "green"


def _row(split: str, n: int, positive: str | None, template: str) -> dict:
    labels = {name: 0 for name in LABELS}
    labels["corumination"] = None
    if positive:
        labels[positive] = 1
    parent = "has anyone else felt this way?" if positive == "hostile" else None
    row = {
        "id": f"{split}-{n}",
        "text": template.format(n=n),
        "parent_text": parent,
        "source": "fixture",
        "group": f"g{n}",
        "split": split,
        "labels": labels,
    }
    if n % 2 == 0:  # half the posts are annotated with a tier, as by docs/annotation/
        row["annotation"] = {"tier": _tier(positive, template)}
    return row


def run_cli(*args: object):
    """Invoke the `triage` command in-process; paths and numbers are turned into strings."""
    from click.testing import CliRunner

    from triage.cli.main import main

    return CliRunner().invoke(main, [str(a) for a in args])


def write_prepared(folder: Path, per_split: dict[str, int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)
    n = 0
    for split, count in per_split.items():
        with (folder / f"{split}.jsonl").open("w") as handle:
            for _ in range(count):
                positive = rng.choice(list(_TEMPLATES))
                template = rng.choice(_TEMPLATES[positive])
                handle.write(json.dumps(_row(split, n, positive, template)) + "\n")
                n += 1
    (folder / "summary.json").write_text(json.dumps({"sources": {"fixture": n}}))
    return folder


class FakeClock:
    """A clock a test moves by hand (`clock.now += 10`)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def prepared_dir(tmp_path_factory) -> Path:
    return write_prepared(
        tmp_path_factory.mktemp("prepared"), {"train": 160, "dev": 80, "test": 60}
    )


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    from triage.training.fit.args import PACKAGED_ENCODER, resolve_encoder

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-encoder")
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(folder)
    shutil.copy(resolve_encoder(PACKAGED_ENCODER) / "tokenizer.json", folder / "tokenizer.json")
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_encoder_dir, prepared_dir) -> Path:
    from triage.training.fit.args import TrainArgs
    from triage.training.fit.train import train

    args = TrainArgs(
        name="tiny",
        data_dir=prepared_dir,
        output_dir=tmp_path_factory.mktemp("runs"),
        base_model=str(tiny_encoder_dir),
        max_length=64,
        batch_size=16,
        epochs=3,
        learning_rate=1e-3,
        head_learning_rate=1e-2,
        threads=2,
    )
    return train(args)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory, tiny_checkpoint, prepared_dir) -> Path:
    from triage.training.export.args import ExportArgs
    from triage.training.export.exporter import export_bundle

    out = tmp_path_factory.mktemp("models") / "tiny-bundle"
    return export_bundle(ExportArgs(tiny_checkpoint, prepared_dir, out, version="0.0.1-test"))


@pytest.fixture()
def settings(tiny_bundle, tmp_path):
    from triage.settings import Settings

    return Settings(
        bundle_dir=tiny_bundle,
        database_url=f"sqlite:///{tmp_path / 'triage.db'}",
        max_items_per_request=4,
        max_text_chars=500,
        max_body_bytes=20_000,
    )


@pytest.fixture()
def keys(settings) -> dict[str, str]:
    """One API key per role (and a second moderator) in the settings' database."""
    return create_keys(settings.database_url)


def create_keys(database_url: str) -> dict[str, str]:
    from datetime import UTC, datetime

    from triage.storage.database import Database
    from triage.storage.keys import Role, create_key

    db = Database(database_url)
    db.upgrade()
    now = datetime.now(UTC)
    wanted = {
        "admin": Role.ADMIN,
        "platform": Role.PLATFORM,
        "alice": Role.MODERATOR,
        "bob": Role.MODERATOR,
    }
    with db.write() as session:
        made = {name: create_key(session, name, role, now).secret for name, role in wanted.items()}
    db.dispose()
    return made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture()
def client(settings, keys):
    """A client of the app on the tiny bundle, sending the admin key unless told otherwise."""
    from fastapi.testclient import TestClient

    from triage.service.app import create_app

    with TestClient(create_app(settings), headers=bearer(keys["admin"])) as test_client:
        yield test_client


# --- databases: the queue suite runs on SQLite and on PostgreSQL ------------------------------
POSTGRES_URL = os.environ.get(
    "TRIAGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TABLES = (
    "events",
    "item_flags",
    "items",
    "api_keys",
    "moderator_prefs",
    "reporters",
    "webhook_deliveries",
    "webhook_endpoints",
)


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped at the end.

    Skips (with the reason shown by `pytest -ra`) when no server answers at
    TRIAGE_TEST_POSTGRES_URL (default: the local server these machines run).
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from triage.storage.database import Database

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any connection failure means: no server to test against
        admin.dispose()
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} ({type(error).__name__}); start it "
            "or set TRIAGE_TEST_POSTGRES_URL"
        )
    name = f"triage_test_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    db.upgrade()
    db.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """An empty, migrated database of each backend."""
    from sqlalchemy import text

    from triage.storage.database import Database

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'queue.db'}"
        db = Database(url)
        db.upgrade()
        db.dispose()
        return url
    url = request.getfixturevalue("postgres_url")
    db = Database(url)
    with db.write() as session:
        session.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    db.dispose()
    return url

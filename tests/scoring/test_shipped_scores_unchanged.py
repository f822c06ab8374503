"""The shipped bundles score fixed inputs exactly as they did before the layout refactor (issue 16).

`tests/fixtures/shipped_scores.json` was recorded from POST /v1/score on the code before the
refactor, for both bundles in models/. A change to the scoring path, the tier rules, the priority
rules or the evidence that alters any answer fails here. After a deliberate change of behaviour
(a new bundle, a new rule), record again with `TRIAGE_RECORD_SCORES=1 pytest <this file>` and
say why in the commit.

Scores are compared within FLOAT_TOLERANCE and reasons with their numbers masked: ONNX Runtime's
float kernels differ a little between CPUs (0.0008 at most between the recording machine, with
AVX-512 VNNI, and an AVX2-only one). Before the shipped int8 weights were stored unsigned
(1.1.1, 0.5.1), the AVX2 machine moved these scores by up to 0.09 and the overdose post from
crisis to amber: this test is what found it (bench/int8_portability.py measures it).
"""

from __future__ import annotations

import json
import os
import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES, bearer, create_keys

RECORD = FIXTURES / "shipped_scores.json"
FLOAT_TOLERANCE = 0.005
NUMBER = re.compile(r"\d+\.\d+")
BUNDLES = ["triage-minilm", "triage-minilm-l3"]
PARENT = "I honestly don't think I can keep going"
ITEMS = [
    {
        "id": "goodbye",
        "text": "thank you all for being here. this is my last post, look after each other x",
    },
    {
        "id": "bridge",
        "text": "sitting on the bridge railing right now. just wanted someone to know",
    },
    {
        "id": "overdose",
        "text": "is it normal to feel sleepy after 40 of my sertraline? took them an hour ago",
    },
    {"id": "note", "text": "i cant do this anymore, wrote my note"},
    {"id": "pills", "text": "I have the pills in front of me. Tonight is the night."},
    {
        "id": "ghost",
        "text": "not going to do anything stupid, promise. i just feel like a ghost at work",
    },
    {
        "id": "anniversary",
        "text": "one year today since I last cut. to anyone still in it: it does get easier",
    },
    {"id": "anxiety", "text": "my anxiety has been through the roof all week and I can't sleep"},
    {"id": "taunt", "text": "go on then, no one here would even notice", "parent_text": PARENT},
    {
        "id": "every-week",
        "text": "you post this every week. if you meant it you'd have done it by now",
        "parent_text": PARENT,
    },
    {"id": "shut-up", "text": "Shut up, nobody wants you here.", "parent_text": PARENT},
    {
        "id": "landlord",
        "text": "your landlord sounds like a total bastard, report him to the council",
    },
    {
        "id": "support",
        "text": "I'm here for you. Would you like to talk about what's been happening?",
        "parent_text": PARENT,
    },
    {
        "id": "app-code",
        "text": "honestly what helped me most was the CalmPath app, use code HEAL20 for 20% off",
    },
    {"id": "course", "text": "DM me if you want my free 7 day anxiety reset course"},
    {
        "id": "samaritans",
        "text": "if anyone's in the UK you can call Samaritans free on 116 123, any time",
    },
    {"id": "sms", "text": "WINNER!! You have won a 1000 cash prize. Call 09061701461 to claim now"},
    {
        "id": "same",
        "text": "same. every single day is the same grey nothing and it never ends",
        "parent_text": "nothing ever gets better for me",
    },
    {"id": "french", "text": "Je me sens tellement seul ce soir, personne ne comprend."},
    {"id": "short", "text": "ok"},
    {"id": "walk", "text": "went for a walk by the river today and it helped a bit"},
]


def score_all(bundle: str, tmp_path) -> list[dict]:
    from triage.paths import DEFAULT_BUNDLE
    from triage.service.app import create_app
    from triage.settings import Settings

    url = f"sqlite:///{tmp_path / f'{bundle}.db'}"
    settings = Settings(bundle_dir=DEFAULT_BUNDLE.with_name(bundle), database_url=url)
    key = create_keys(url)["admin"]
    with TestClient(create_app(settings), headers=bearer(key)) as client:
        response = client.post("/v1/score", json={"items": ITEMS})
    assert response.status_code == 200, response.text
    return response.json()["results"]


@pytest.mark.parametrize("bundle", BUNDLES)
def test_shipped_bundle_scores_fixed_inputs_as_recorded(bundle, tmp_path):
    results = score_all(bundle, tmp_path)
    if os.environ.get("TRIAGE_RECORD_SCORES"):
        recorded = json.loads(RECORD.read_text()) if RECORD.exists() else {}
        recorded[bundle] = results
        RECORD.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(RECORD.read_text())[bundle]
    # Every recorded field must be unchanged; a field added to the answer later is not compared.
    assert [comparable(got, want) for got, want in zip(results, recorded, strict=True)] == [
        comparable(want, want) for want in recorded
    ]


def comparable(got: dict, want: dict) -> dict:
    """`got`'s recorded fields, with each score replaced by the recorded one where they differ
    by at most FLOAT_TOLERANCE, and the numbers in reasons masked."""
    out = {key: got[key] for key in want}
    for key in ("scores", "tier_scores"):
        if want.get(key) is None or got.get(key) is None:
            continue
        out[key] = {
            label: want[key][label]
            if value is not None
            and want[key].get(label) is not None
            and abs(value - want[key][label]) <= FLOAT_TOLERANCE
            else value
            for label, value in got[key].items()
            if label in want[key]
        }
    out["reasons"] = [NUMBER.sub("#", reason) for reason in got["reasons"]]
    return out

"""A model bundle: a folder that describes itself, checked before anything is served from it.

models/<name>/
  model.onnx       int8 ONNX graph: input_ids, attention_mask, token_type_ids -> logits
  tokenizer.json   the tokenizer the model was trained with
  bundle.json      name, version, labels, languages, max length, thresholds, calibration,
                   data, metrics, and `files`: the sha256 of every other file, checked at load
  MODEL_CARD.md    data, metrics, limits, licence caveats (written by `triage export`)
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from triage.domain.calibration import Calibration
from triage.domain.labels import LABELS, TIER_OUTPUTS, check_labels
from triage.domain.tiers import OrdinalTierModel

BUNDLE_FORMAT = 1
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
BUNDLE_FILE = "bundle.json"
CARD_FILE = "MODEL_CARD.md"
MIN_MAX_LENGTH = 8  # what PairEncoder needs: [CLS], [SEP], a few tokens of text and parent


# The kinds of bundle fault, each with a fix hint that names no path: /readyz is unauthenticated,
# so it reports these while the full message (with paths) goes to the server log and the CLI.
BUNDLE_MISSING = "bundle_missing"
BUNDLE_INCOMPLETE = "bundle_incomplete"
BUNDLE_UNREADABLE = "bundle_unreadable"
CHECKSUM_MISMATCH = "checksum_mismatch"
BUNDLE_INVALID = "bundle_invalid"
MODEL_UNREADABLE = "model_unreadable"
TOKENIZER_UNREADABLE = "tokenizer_unreadable"
LOAD_FAILED = "load_failed"
FAULT_HINTS = {
    BUNDLE_MISSING: "no bundle.json in the bundle folder: set TRIAGE_BUNDLE_DIR (or --bundle) to "
    "a folder written by `triage export`",
    BUNDLE_INCOMPLETE: "a file of the bundle is missing: copy the whole bundle folder again or "
    "re-run `triage export`",
    BUNDLE_UNREADABLE: "a bundle file cannot be read by the server (permissions, disk): check "
    "the bundle folder",
    CHECKSUM_MISMATCH: "a bundle file does not match its checksum in bundle.json (a partial copy "
    "or an edited file): copy the whole bundle folder again or re-run `triage export`",
    BUNDLE_INVALID: "bundle.json is not valid JSON, lacks a key, has a value of the wrong type, or "
    "was written for another version of triage: re-export the bundle with this version",
    MODEL_UNREADABLE: "model.onnx is not an ONNX model this onnxruntime can load: copy the bundle "
    "again or re-run `triage export`",
    TOKENIZER_UNREADABLE: "tokenizer.json is not a tokenizer the tokenizers library can load: "
    "copy the bundle again or re-run `triage export`",
    LOAD_FAILED: "the scorer could not be started: the server log says why",
}
# Keys of bundle.json `files` from the first layout, which checksummed only the model. Every
# other key names a file of the bundle (relative to its folder) and maps it to its sha256.
DESCRIPTIVE_FILE_KEYS = frozenset({"model", "tokenizer", "model_sha256", "model_bytes"})
_SHA256 = re.compile(r"[0-9a-f]{64}")
DEFAULT_LANGUAGES = ("en",)  # what a bundle without `languages` was trained on
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")


class BundleError(RuntimeError):
    """The bundle folder is missing, incomplete or does not match this version of triage.

    `kind` (a key of FAULT_HINTS) says what is wrong without saying where; the message says
    both, for logs and the CLI."""

    def __init__(self, message: str, kind: str = BUNDLE_INVALID) -> None:
        super().__init__(message)
        self.kind = kind

    @property
    def hint(self) -> str:
        return FAULT_HINTS[self.kind]


@dataclass(frozen=True)
class Bundle:
    path: Path
    name: str
    version: str
    labels: tuple[str, ...]
    trained_labels: tuple[str, ...]
    max_length: int
    thresholds: dict[str, float]
    calibration: dict[str, Calibration]
    outputs: tuple[str, ...] = LABELS  # LABELS, then TIER_OUTPUTS when it has a tier head
    tier_model: OrdinalTierModel | None = None  # None: tiers come from configs/tiers.yaml rules
    # ISO 639-1 codes of the languages the model was trained on (bundle.json `languages`;
    # bundles written before it are English): a post in another goes to a person (language.py)
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    info: dict = field(default_factory=dict, repr=False)  # the whole bundle.json

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def tokenizer_path(self) -> Path:
        return self.path / TOKENIZER_FILE


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file in `folder` but bundle.json, by path relative to it: bundle.json
    `files` as `triage export` writes it."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != BUNDLE_FILE)
    return {file.relative_to(folder).as_posix(): sha256(file) for file in files}


def load_bundle(path: Path) -> Bundle:
    """Read and verify a bundle; raise BundleError saying what is wrong (its `kind`), where, and
    how to fix it. Every fault of the folder or of bundle.json becomes a BundleError."""
    path = Path(path)
    info = _read_info(path)
    for name in (MODEL_FILE, TOKENIZER_FILE):
        if not (path / name).is_file():
            raise BundleError(
                f"bundle {path} is incomplete: {name} is missing; re-run triage export",
                BUNDLE_INCOMPLETE,
            )
    if info.get("format") != BUNDLE_FORMAT:
        raise BundleError(
            f"bundle {path} has format {info.get('format')!r}; this triage reads format "
            f"{BUNDLE_FORMAT}: re-export it with this version"
        )
    verify_checksums(path, expected_checksums(path, info.get("files", {})))
    try:
        return _parse(path, info)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        found = f"lacks the key {error}" if isinstance(error, KeyError) else f"is invalid: {error}"
        raise BundleError(
            f"bundle {path}: {BUNDLE_FILE} {found}; re-export it with this version of triage"
        ) from error


def _read_info(path: Path) -> dict:
    meta_path = path / BUNDLE_FILE
    if not meta_path.is_file():
        raise BundleError(
            f"no model bundle at {path} ({BUNDLE_FILE} missing); set TRIAGE_BUNDLE_DIR or pass "
            "--bundle with a folder written by `triage export`",
            BUNDLE_MISSING,
        )
    try:
        info = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise BundleError(f"bundle {path}: {BUNDLE_FILE} is not valid JSON ({error})") from error
    except OSError as error:
        raise BundleError(
            f"bundle {path}: {BUNDLE_FILE} cannot be read ({error})", BUNDLE_UNREADABLE
        ) from error
    if not isinstance(info, dict):
        raise BundleError(f"bundle {path}: {BUNDLE_FILE} is not a JSON object")
    return info


def expected_checksums(path: Path, files: object) -> dict[str, str]:
    """File name (relative to the bundle) -> sha256, from bundle.json `files`; a bundle of the
    first layout checksums only the model, as `model_sha256`."""
    if not isinstance(files, dict):
        raise BundleError(f"bundle {path}: {BUNDLE_FILE} `files` is not an object")
    expected = {name: sha for name, sha in files.items() if name not in DESCRIPTIVE_FILE_KEYS}
    if files.get("model_sha256"):
        expected.setdefault(MODEL_FILE, files["model_sha256"])
    for name, sha in expected.items():
        if not _inside_the_bundle(name) or not isinstance(sha, str) or not _SHA256.fullmatch(sha):
            raise BundleError(
                f"bundle {path}: {BUNDLE_FILE} `files` entry {name!r} is not a file of the bundle "
                "mapped to its sha256 (64 lower-case hex digits)"
            )
    return expected


def _inside_the_bundle(name: str) -> bool:
    relative = PurePosixPath(name)
    return bool(name) and not relative.is_absolute() and ".." not in relative.parts


def verify_checksums(path: Path, expected: dict[str, str]) -> None:
    for name, checksum in expected.items():
        file = path / name
        if not file.is_file():
            raise BundleError(
                f"bundle {path} is incomplete: {name} (listed in {BUNDLE_FILE} `files`) is missing",
                BUNDLE_INCOMPLETE,
            )
        try:
            actual = sha256(file)
        except OSError as error:
            raise BundleError(
                f"bundle {path}: {name} cannot be read ({error})", BUNDLE_UNREADABLE
            ) from error
        if actual != checksum:
            raise BundleError(
                f"bundle {path}: {name} does not match the checksum in {BUNDLE_FILE}",
                CHECKSUM_MISMATCH,
            )


def _parse(path: Path, info: dict) -> Bundle:
    """The Bundle that bundle.json describes; KeyError, TypeError or ValueError when it lacks a
    key or a value has the wrong type."""
    try:
        check_labels(info["labels"], f"bundle {path}")
    except ValueError as error:
        raise BundleError(str(error)) from error
    outputs = tuple(info.get("outputs", LABELS))
    if outputs not in (LABELS, LABELS + TIER_OUTPUTS):
        raise BundleError(
            f"bundle {path}: outputs {list(outputs)} are neither the labels nor the labels and "
            f"the tier cuts {list(TIER_OUTPUTS)}; re-export it with this version of triage"
        )
    max_length = int(info["max_length"])
    if max_length < MIN_MAX_LENGTH:
        raise ValueError(f"max_length must be at least {MIN_MAX_LENGTH}, found {max_length}")
    tier_model = info.get("tier_model")
    return Bundle(
        path=path,
        name=_text(info["name"], "name"),
        version=_text(info["version"], "version"),
        labels=tuple(info["labels"]),
        trained_labels=_names(info.get("trained_labels", LABELS), "trained_labels"),
        max_length=max_length,
        thresholds={k: float(v) for k, v in info["thresholds"].items()},
        calibration={k: _calibration(v) for k, v in info.get("calibration", {}).items()},
        outputs=outputs,
        tier_model=_tier_model(tier_model) if tier_model else None,
        languages=_languages(info.get("languages", DEFAULT_LANGUAGES)),
        info=info,
    )


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"{key}: expected a non-empty string, found {type(value).__name__}")
    return value


def _names(values: list, key: str) -> tuple[str, ...]:
    return tuple(_text(value, key) for value in values)


def _languages(values: list) -> tuple[str, ...]:
    codes = _names(values, "languages")
    if not codes or not all(_LANGUAGE_CODE.fullmatch(code) for code in codes):
        raise ValueError(f"languages: expected ISO 639-1 codes such as ['en'], found {values!r}")
    return codes


def _calibration(data: dict) -> Calibration:
    return Calibration(**{key: float(value) for key, value in data.items()})


def _tier_model(data: dict) -> OrdinalTierModel:
    calibration = tuple(_calibration(cut) for cut in data["calibration"])
    if len(calibration) != len(TIER_OUTPUTS):
        raise ValueError(f"tier_model: {len(calibration)} calibrations, {len(TIER_OUTPUTS)} cuts")
    cut_offs = {key: float(value) for key, value in data.items() if key != "calibration"}
    return OrdinalTierModel(calibration=calibration, **cut_offs)

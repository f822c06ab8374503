"""What the console's templates need beyond the API's response models: evidence highlighting,
which text to blur, SLA wording, and one render() that adds the console's security headers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from triage.domain.labels import LABEL_DEFINITIONS, SELF_HARM, TIERS, URGENT_TIERS, Tier

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
STATIC_DIR = HERE / "static"
TIER_NAMES = {tier.value: tier.value.title() for tier in Tier}  # "crisis": "Crisis"
LABEL_MEANINGS = {label.name: label.meaning for label in LABEL_DEFINITIONS}

# Console pages allow only their own scripts and styles (no inline code), and no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold post text: never cached
}


@dataclass(frozen=True)
class Segment:
    text: str
    labels: tuple[str, ...]  # evidence labels covering this stretch; empty: plain text


def highlight(text: str, evidence: Sequence) -> list[Segment]:
    """Cut `text` at every evidence boundary; spans outside the text are clipped or dropped."""
    spans = []
    for span in evidence:
        start, end = max(0, span.start), min(len(text), span.end)
        if start < end:
            spans.append((start, end, span.label))
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    segments = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        labels = tuple(sorted({label for s, e, label in spans if s <= start and end <= e}))
        segments.append(Segment(text[start:end], labels))
    return segments


def sensitive_reason(
    tier: str | None, flags: Sequence[str], language_unsupported: bool = False
) -> str | None:
    """Why an item's text is blurred until revealed, or None if it is shown as is.

    Unscored items are blurred too: nobody has judged yet whether they hold self-harm content;
    so are items in a language the model does not read, whose scores judged nothing.
    """
    if tier in URGENT_TIERS:
        return f"{TIER_NAMES[tier].lower()}-tier self-harm risk"
    if SELF_HARM in flags:
        return "flagged for self-harm"
    if tier is None:
        return "not scored yet: may hold self-harm content"
    if language_unsupported:
        return "in a language the model does not read: may hold self-harm content"
    return None


def evidence_name(label: str) -> str:
    """Evidence is given per flag and, for crisis and red items, for the tier itself."""
    return f"{label} tier" if label in TIERS else label.replace("_", " ")


def tier_name(tier: str | None) -> str:
    return TIER_NAMES.get(tier or "", "Unscored")


def duration_text(seconds: float) -> str:
    seconds = int(abs(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s"


def sla_text(due: datetime | None, now: datetime) -> str:
    """The server's first rendering of an SLA timer; console.js keeps it counting."""
    if due is None:
        return "no SLA"
    left = (due - now).total_seconds()
    return f"{duration_text(left)} left" if left >= 0 else f"overdue by {duration_text(left)}"


def excerpt(text: str | None, limit: int = 220) -> str:
    if text is None:
        return "(text purged by the retention policy)"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_next(path: str | None) -> str:
    """Where to go after signing in: only a path on this site (no //host, no scheme)."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"


def render(request: Request, template: str, context: dict, status_code: int = 200) -> Response:
    response = TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


TEMPLATES.env.globals.update(
    tier_name=tier_name,
    sensitive_reason=sensitive_reason,
    sla_text=sla_text,
    excerpt=excerpt,
    highlight=highlight,
    label_meanings=LABEL_MEANINGS,
)
TEMPLATES.env.filters["evidence_name"] = evidence_name

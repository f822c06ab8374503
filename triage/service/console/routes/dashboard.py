"""The console's dashboard: GET /console/dashboard (charts drawn on the server as SVG, each with
its data table) and GET /console/dashboard.csv (the same figures, as CSV). Signed-in moderators
and admins only, like every console page. Counts, durations and shares only: no post text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from starlette.responses import Response

from triage.problems import Detail
from triage.queue.dashboard_stats import MAX_WINDOW_HOURS, Dashboard, dashboard
from triage.service.console.auth import ModeratorSession
from triage.service.console.dashboard_figures import FIGURES, csv_rows, figures, to_csv
from triage.service.console.routes.pages import page_context
from triage.service.console.routing import console_router
from triage.service.console.views import SECURITY_HEADERS, render
from triage.service.deps import DatabaseDep, SettingsDep
from triage.service.errors import TriageError

router = console_router()

WINDOWS = ((24, "last 24 hours"), (72, "last 3 days"), (168, "last 7 days"))


def _checked_hours(hours: int) -> int:
    if not 1 <= hours <= MAX_WINDOW_HOURS:
        raise TriageError(
            422,
            "invalid_request",
            f"the window is 1 to {MAX_WINDOW_HOURS} hours",
            [Detail("hours", f"a whole number of hours, 1 to {MAX_WINDOW_HOURS}", str(hours))],
        )
    return hours


def _figures_of(db: DatabaseDep, settings: SettingsDep, hours: int) -> Dashboard:
    with db.read() as session:
        return dashboard(session, settings.tier_rules, datetime.now(UTC), _checked_hours(hours))


@router.get("/console/dashboard")
def dashboard_page(
    request: Request,
    moderator: ModeratorSession,
    db: DatabaseDep,
    settings: SettingsDep,
    hours: int = 24,
) -> Response:
    dash = _figures_of(db, settings, hours)
    context = page_context(
        request,
        moderator,
        dash=dash,
        figures=figures(dash),
        hours=hours,
        windows=WINDOWS,
    )
    return render(request, "dashboard.html", context)


@router.get("/console/dashboard.csv")
def dashboard_csv(
    _moderator: ModeratorSession,
    db: DatabaseDep,
    settings: SettingsDep,
    hours: int = 24,
    figure: str | None = None,
) -> Response:
    """All figures, or one (`figure`), in long format: figure, series, measure, value."""
    if figure is not None and figure not in FIGURES:
        raise TriageError(
            422,
            "invalid_request",
            "unknown figure",
            [Detail("figure", f"one of {', '.join(FIGURES)}", repr(figure[:40]))],
        )
    dash = _figures_of(db, settings, hours)
    stamp = dash.end.strftime("%Y%m%dT%H%MZ")
    name = f"triage-dashboard-{figure.replace('_', '-') + '-' if figure else ''}{stamp}.csv"
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}"',
    }
    return Response(
        to_csv(csv_rows(dash, figure)), media_type="text/csv; charset=utf-8", headers=headers
    )

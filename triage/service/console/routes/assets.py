"""/favicon.ico, which browsers ask for on their own: the console's hand-written SVG icon
(static/favicon.svg, also linked from every page), so the request is not a 404."""

from __future__ import annotations

from fastapi.responses import FileResponse

from triage.service.console.routing import console_router
from triage.service.console.views import STATIC_DIR

router = console_router()
FAVICON = STATIC_DIR / "favicon.svg"


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(
        FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )

"""Ctrl+Z in the step table (static/okno/grid.js): what a saved cell edit tells the page so it can be undone.

A successful cell save answers with the header ``Okno-Cell-Edit``: ``{"step": id, "field": name}`` and,
when the server stored something other than the text the page posted (a date or time as parsed, a choice),
``"after"``: the cell's text as the editor shows it (``services.cell_text``). The page already knows the
value before (the editor's hidden ``original``) and what it posted, so long texts never travel in a header
(a reverse proxy refuses big response headers). Ctrl+Z posts the value before to the same cell endpoint with
``original`` = the value after: ``services.update_step_cell`` refuses it as a conflict when someone changed the
cell meanwhile, and otherwise saves it as a new edit in the history.
"""

from __future__ import annotations

import json

from django.http import HttpResponse

from common.text import clean_text

from .models import Step
from .services import cell_text

HEADER = "Okno-Cell-Edit"


def mark_cell_edit(response: HttpResponse, step: Step, field: str, posted: object) -> HttpResponse:
    """`response` to a saved cell edit, with the header the page keeps for Ctrl+Z."""
    data: dict[str, object] = {"step": step.pk, "field": field}
    after = cell_text(step, field)
    if after != clean_text(str(posted or "")):
        data["after"] = after
    response[HEADER] = json.dumps(data)  # ASCII (\\u escapes): a header value must be Latin-1
    return response

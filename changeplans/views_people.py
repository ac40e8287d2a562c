"""The people search behind the pickers (static/okno/picker.js): JSON, for signed-in users."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from . import people


@login_required
@require_GET
def people_search(request: HttpRequest) -> JsonResponse:
    """`?q=<text>&kind=user|group|party|any` (or a comma-separated list) → {"results": [...]}, at most 20.

    Every signed-in user may look colleagues up (the plan pages already name them); the query count is fixed.
    """
    kinds = people.parse_kinds(request.GET.get("kind"))
    results = people.search(request.GET.get("q", ""), kinds)
    response = JsonResponse({"results": results})
    response["Cache-Control"] = "private, no-store"
    return response

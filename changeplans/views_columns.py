"""The step table's column chooser: a user saves which columns they see (static/okno/columns.js posts here)."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import columns


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def grid_columns(request: HttpRequest) -> HttpResponse:
    """POST shown=<field>… → the signed-in user's columns are saved (nobody else's: there is no user parameter).

    columns.js asks for JSON ({"hidden": [...]} or 400 {"error": "..."}); the chooser's plain form (no script)
    comes back to the page it was sent from.
    """
    try:
        hidden = columns.save_shown_columns(request.POST.getlist("shown"), actor=request.user)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if _wants_json(request):
            return JsonResponse({"error": message}, status=400)
        context = {"title": _("Columns were not saved"), "message": message}
        return render(request, "changeplans/problem.html", context, status=400)
    if _wants_json(request):
        return JsonResponse({"hidden": hidden})
    target = request.POST.get("next", "")
    hosts = {request.get_host()}
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=hosts, require_https=request.is_secure()):
        target = reverse("changeplans:plan_list")
    return redirect(target)

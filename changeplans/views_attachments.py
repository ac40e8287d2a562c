"""Files kept with a plan (changeplans.PlanAttachment): downloaded by whoever may see the plan."""

import io

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404

from .models import PlanAttachment
from .permissions import can_view_plan

# Served with their own type only when it is one of these; anything else is a download of bytes.
KNOWN_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/plain",
    "text/html",
}


@login_required
def attachment_download(request, pk):
    attachment = PlanAttachment.objects.select_related("plan").filter(pk=pk).first()
    if attachment is None or not can_view_plan(request.user, attachment.plan):
        raise Http404
    content_type = attachment.content_type.split(";", 1)[0].strip().lower()
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    response = FileResponse(
        io.BytesIO(bytes(attachment.data)),
        as_attachment=True,
        filename=attachment.filename,
        content_type=content_type if content_type.split(";", 1)[0] in KNOWN_TYPES else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Never a page of this site, even if a browser were to show it: no script, no form, no request of its own.
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response

"""The project's urls plus the floor views the benchmarks compare against."""

import io

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.urls import include, path

# Filled by bench/run.py with the plan page's own bytes before the floor is measured.
FLOOR_BODY = {"html": b""}


@login_required
def floor_page(request):
    # The same bytes as the plan page, from memory: what Django costs with no queries and no templates
    # beyond the session and user lookup any logged-in page pays.
    return HttpResponse(FLOOR_BODY["html"], content_type="text/html; charset=utf-8")


# Filled by bench/pdf_archive.py with a stored PDF's bytes: the floor of the stored-PDF download.
FLOOR_FILE = {"pdf": b""}


@login_required
def floor_file(request):
    # The same bytes as a stored PDF, from memory, as a bare FileResponse (attachment): no plan, no lookup.
    return FileResponse(
        io.BytesIO(FLOOR_FILE["pdf"]), as_attachment=True, filename="floor.pdf", content_type="application/pdf"
    )


urlpatterns = [
    path("bench/floor/", floor_page, name="bench_floor"),
    path("bench/floor-file/", floor_file, name="bench_floor_file"),
    path("", include("config.urls")),
]

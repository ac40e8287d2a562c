"""The project's urls plus the floor views the benchmarks compare against."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.urls import include, path

# Filled by bench/run.py with the plan page's own bytes before the floor is measured.
FLOOR_BODY = {"html": b""}


@login_required
def floor_page(request):
    # The same bytes as the plan page, from memory: what Django costs with no queries and no templates
    # beyond the session and user lookup any logged-in page pays.
    return HttpResponse(FLOOR_BODY["html"], content_type="text/html; charset=utf-8")


urlpatterns = [
    path("bench/floor/", floor_page, name="bench_floor"),
    path("", include("config.urls")),
]

"""/api/v1/ (docs/api.md)."""

from django.urls import path

from . import views

app_name = "api"

urlpatterns = [
    path("", views.root, name="root"),
]

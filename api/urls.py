"""/api/v1/ (docs/api.md)."""

from django.urls import path

from . import views, views_gate

app_name = "api"

urlpatterns = [
    path("", views.root, name="root"),
    path("gate/", views_gate.gate, name="gate"),
]

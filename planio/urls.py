from django.urls import path

from . import views

app_name = "planio"
urlpatterns = [
    path("new/", views.new_import, name="new"),
    path("<int:pk>/", views.preview, name="preview"),
    path("<int:pk>/overrides/", views.overrides, name="overrides"),
    path("<int:pk>/confirm/", views.confirm, name="confirm"),
    path("<int:pk>/discard/", views.discard, name="discard"),
]

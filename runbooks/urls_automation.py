"""The step automation editor; config/urls.py includes it under plans/ (namespace "automation_editor")."""

from django.urls import path

from . import views_automation

app_name = "automation_editor"
urlpatterns = [
    path("<int:plan_id>/steps/<int:step_id>/automation/", views_automation.step_automation, name="step_automation"),
]

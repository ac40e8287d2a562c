from django.urls import path

from . import views

app_name = "runbooks"
urlpatterns = [
    path("", views.runbook_list, name="runbook_list"),
    path("new/", views.runbook_new, name="runbook_new"),
    path("import/", views.runbook_import, name="runbook_import"),
    path("from-plan/<int:plan_id>/", views.runbook_from_plan, name="runbook_from_plan"),
    path("<slug:slug>/", views.runbook_detail, name="runbook_detail"),
    path("<slug:slug>/plan/", views.runbook_plan_create, name="runbook_plan_create"),
    path("<slug:slug>/edit/", views.runbook_edit, name="runbook_edit"),
    path("<slug:slug>/standard/", views.runbook_standard, name="runbook_standard"),
    path("<slug:slug>/copy/", views.runbook_copy, name="runbook_copy"),
    path("<slug:slug>/v<int:number>.yaml", views.runbook_export, name="runbook_export"),
]

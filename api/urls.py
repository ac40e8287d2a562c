"""/api/v1/ (docs/api.md)."""

from django.urls import path

from . import views, views_docs, views_gate, views_matrix, views_plans, views_read, views_steps

app_name = "api"

urlpatterns = [
    path("", views.root, name="root"),
    path("gate/", views_gate.gate, name="gate"),
    # plans: list, create, read, edit the header; transitions
    path("plans/", views_plans.PlanList.as_view(), name="plan_list"),
    path("plans/<int:pk>/", views_plans.PlanDetail.as_view(), name="plan_detail"),
    path("plans/<int:pk>/submit/", views_plans.plan_submit, name="plan_submit"),
    path("plans/<int:pk>/cancel/", views_plans.plan_cancel, name="plan_cancel"),
    path("plans/<int:pk>/copy/", views_plans.plan_copy, name="plan_copy"),
    path("plans/<int:pk>/start/", views_plans.plan_start, name="plan_start"),
    path("plans/<int:pk>/finish/", views_plans.plan_finish, name="plan_finish"),
    path("plans/<int:pk>/rollback/", views_plans.plan_rollback, name="plan_rollback"),
    # read-only: services, a plan's versions/diffs/history/runs, runbooks, runs; the schema and its UIs
    path("services/", views_read.ServiceList.as_view(), name="service_list"),
    path("services/<int:pk>/", views_read.ServiceDetail.as_view(), name="service_detail"),
    path("plans/<int:pk>/versions/", views_read.VersionList.as_view(), name="plan_versions"),
    path("plans/<int:pk>/versions/<int:number>/", views_read.VersionDetail.as_view(), name="plan_version"),
    path("plans/<int:pk>/versions/<int:number>/diff/", views_read.VersionDiff.as_view(), name="plan_version_diff"),
    path("plans/<int:pk>/history/", views_read.History.as_view(), name="plan_history"),
    path("plans/<int:pk>/runs/", views_read.PlanRuns.as_view(), name="plan_runs"),
    path("runbooks/", views_read.RunbookList.as_view(), name="runbook_list"),
    path("runbooks/<int:pk>/", views_read.RunbookDetail.as_view(), name="runbook_detail"),
    path("runs/<int:pk>/", views_read.RunDetail.as_view(), name="run_detail"),
    path("schema/", views_docs.schema, name="schema"),
    path("docs/", views_docs.swagger_ui, name="docs"),
    path("redoc/", views_docs.redoc, name="redoc"),
    # steps, risks, rollback actions, ticks; the sign-off matrix and its decisions
    path("plans/<int:pk>/steps/", views_steps.plan_steps, name="plan_steps"),
    path("plans/<int:pk>/steps/reorder/", views_steps.plan_steps_reorder, name="plan_steps_reorder"),
    path("steps/<int:pk>/", views_steps.step_detail, name="step_detail"),
    path("steps/<int:pk>/move/", views_steps.step_move, name="step_move"),
    path("steps/<int:pk>/risks/", views_steps.step_risks, name="step_risks"),
    path("steps/<int:pk>/start/", views_steps.step_start, name="step_start"),
    path("steps/<int:pk>/tick/", views_steps.step_tick, name="step_tick"),
    path("steps/<int:pk>/fail/", views_steps.step_fail, name="step_fail"),
    path("steps/<int:pk>/skip/", views_steps.step_skip, name="step_skip"),
    path("steps/<int:pk>/retry/", views_steps.step_retry, name="step_retry"),
    path("rollback-actions/<int:pk>/tick/", views_steps.rollback_action_tick, name="rollback_action_tick"),
    path("plans/<int:pk>/matrix/", views_matrix.plan_matrix, name="plan_matrix"),
    path(
        "plans/<int:pk>/matrix/apply-template/",
        views_matrix.plan_matrix_apply_template,
        name="plan_matrix_apply_template",
    ),
    path("matrix/<int:pk>/", views_matrix.matrix_row, name="matrix_row"),
    path("matrix/<int:pk>/approve/", views_matrix.matrix_row_approve, name="matrix_row_approve"),
    path("matrix/<int:pk>/reject/", views_matrix.matrix_row_reject, name="matrix_row_reject"),
    path("matrix/<int:pk>/acknowledge/", views_matrix.matrix_row_acknowledge, name="matrix_row_acknowledge"),
]

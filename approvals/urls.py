from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("plans/<int:pk>/matrix/", views.plan_matrix, name="plan_matrix"),
    path("plans/<int:pk>/submit/", views.plan_submit, name="plan_submit"),
    path("plans/<int:pk>/template/", views.plan_apply_template, name="plan_apply_template"),
    path("plans/<int:pk>/diff/", views.plan_diff, name="plan_diff"),
    path("plans/<int:pk>/matrix/rows/", views.matrix_row_add, name="matrix_row_add"),
    path("plans/<int:pk>/matrix/copy/", views.matrix_copy, name="matrix_copy"),
    path("plans/<int:pk>/matrix/sources/", views.matrix_sources, name="matrix_sources"),
    path("plans/<int:pk>/matrix/templates/", views.matrix_templates, name="matrix_templates"),
    path("plans/<int:pk>/matrix/save-template/", views.matrix_save_template, name="matrix_save_template"),
    path("matrix-rows/<int:pk>/", views.matrix_row_update, name="matrix_row_update"),
    path("matrix-rows/<int:pk>/delete/", views.matrix_row_delete, name="matrix_row_delete"),
    path("matrix-rows/<int:pk>/move/", views.matrix_row_move, name="matrix_row_move"),
    path("rows/<int:pk>/<str:action>/", views.row_decide, name="row_decide"),
]

from django.urls import path

from . import views

app_name = "approvals"
urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("plans/<int:pk>/matrix/", views.plan_matrix, name="plan_matrix"),
    path("plans/<int:pk>/submit/", views.plan_submit, name="plan_submit"),
    path("plans/<int:pk>/template/", views.plan_apply_template, name="plan_apply_template"),
    path("plans/<int:pk>/diff/", views.plan_diff, name="plan_diff"),
    path("rows/<int:pk>/<str:action>/", views.row_decide, name="row_decide"),
]

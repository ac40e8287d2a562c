from django.urls import path

from runbooks import views_runs as views

app_name = "automation"
urlpatterns = [
    path("steps/<int:pk>/run/", views.run_step, name="run_step"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("runs/<int:pk>/stream/", views.run_stream, name="run_stream"),
    path("runs/<int:pk>/log.txt", views.run_log, name="run_log"),
    path("plans/<int:pk>/rehearse/", views.rehearse, name="rehearse"),
    path("plans/<int:pk>/approve-automation/", views.approve_automation, name="approve_automation"),
]

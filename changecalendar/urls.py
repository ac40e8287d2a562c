from django.urls import path

from . import feeds, views, views_cab, views_freezes, views_plan_checks

app_name = "changecalendar"
urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("subscribe/", feeds.subscribe, name="subscribe"),
    path("feed/<str:token>.ics", feeds.personal_feed, name="feed"),
    path("feed/<str:token>/services/<int:service_id>.ics", feeds.service_feed, name="service_feed"),
    path("cab/", views_cab.cab_agenda, name="cab"),
    path("cab/pdf/", views_cab.cab_agenda_pdf, name="cab_pdf"),
    path("freezes/", views_freezes.freeze_list, name="freezes"),
    path("freezes/new/", views_freezes.freeze_edit, name="freeze_add"),
    path("freezes/<int:pk>/", views_freezes.freeze_edit, name="freeze_edit"),
    path("freezes/<int:pk>/delete/", views_freezes.freeze_delete, name="freeze_delete"),
    path("plans/<int:pk>/checks/", views_plan_checks.plan_checks, name="plan_checks"),
    path("plans/<int:pk>/side/", views_plan_checks.plan_side, name="plan_side"),
    path(
        "plans/<int:plan_pk>/freezes/<int:freeze_pk>/exception/",
        views_freezes.freeze_exception,
        name="freeze_exception",
    ),
]

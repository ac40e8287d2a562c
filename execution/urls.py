from django.urls import path

from . import live, views, views_announcements

app_name = "execution"
urlpatterns = [
    path("<int:pk>/events/", live.plan_events, name="plan_events"),
    path("<int:pk>/announcements/", views_announcements.plan_announcements, name="plan_announcements"),
    path("<int:pk>/announcements/delay/", views_announcements.delay_notice, name="plan_delay_notice"),
    path(
        "<int:pk>/announcements/steps/<int:step_id>/fire/", views_announcements.fire_step, name="announcement_step_fire"
    ),
    path("<int:pk>/board/", views.plan_board, name="plan_board"),
    path("<int:pk>/board/start/", views.board_start, name="board_start"),
    path("<int:pk>/board/rollback/", views.board_rollback, name="board_rollback"),
    path("<int:pk>/board/rollback/skip-remaining/", views.board_skip_rollback, name="board_skip_rollback"),
    path("<int:pk>/board/finish/", views.board_finish, name="board_finish"),
    path("board/steps/<int:pk>/tick/", views.board_tick, name="board_tick"),
    path("board/rollback-actions/<int:pk>/tick/", views.board_tick_rollback, name="board_tick_rollback"),
]

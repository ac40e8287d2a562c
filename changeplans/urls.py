from django.urls import path

from . import live
from . import views
from . import views_announcements
from . import views_board

app_name = "changeplans"
urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/header/", views.plan_header, name="plan_header"),
    path("<int:pk>/steps/add/", views.step_add, name="step_add"),
    path("<int:pk>/steps/reorder/", views.steps_reorder, name="steps_reorder"),
    path("<int:pk>/pdf/", views.plan_pdf, name="plan_pdf"),
    path("<int:pk>/events/", live.plan_events, name="plan_events"),
    path("<int:pk>/cancel/", views.plan_cancel, name="plan_cancel"),
    path("<int:pk>/announcements/", views_announcements.plan_announcements, name="plan_announcements"),
    path("<int:pk>/announcements/delay/", views_announcements.delay_notice, name="plan_delay_notice"),
    path("<int:pk>/announcements/steps/<int:step_id>/fire/", views_announcements.fire_step, name="announcement_step_fire"),
    path("<int:pk>/board/", views_board.plan_board, name="plan_board"),
    path("<int:pk>/board/start/", views_board.board_start, name="board_start"),
    path("<int:pk>/board/rollback/", views_board.board_rollback, name="board_rollback"),
    path("<int:pk>/board/finish/", views_board.board_finish, name="board_finish"),
    path("board/steps/<int:pk>/tick/", views_board.board_tick, name="board_tick"),
    path("board/rollback-actions/<int:pk>/tick/", views_board.board_tick_rollback, name="board_tick_rollback"),
    path("steps/<int:pk>/", views.step_row, name="step_row"),
    path("steps/<int:pk>/cell/<str:field>/", views.step_cell, name="step_cell"),
    path("steps/<int:pk>/delete/", views.step_delete, name="step_delete"),
    path("steps/<int:pk>/move/", views.step_move, name="step_move"),
    path("steps/<int:pk>/risks/", views.step_risks, name="step_risks"),
]

from django.urls import path

from . import views, views_attachments, views_columns, views_jira, views_list, views_pdf, views_people
from .views_paste import steps_paste

app_name = "changeplans"
urlpatterns = [
    path("", views_list.plan_list, name="plan_list"),
    path("<int:pk>/history/", views_list.plan_history_page, name="plan_history"),
    path("new/", views.plan_create, name="plan_create"),
    path("<int:pk>/", views.plan_detail, name="plan_detail"),
    path("<int:pk>/rows/", views.plan_rows, name="plan_rows"),
    path("<int:pk>/header/", views.plan_header, name="plan_header"),
    path("<int:pk>/steps/add/", views.step_add, name="step_add"),
    path("<int:pk>/steps/reorder/", views.steps_reorder, name="steps_reorder"),
    path("<int:pk>/steps/paste/", steps_paste, name="steps_paste"),
    path("<int:pk>/pdf/", views_pdf.plan_pdf, name="plan_pdf"),
    path("<int:pk>/pdf/<int:pdf_pk>/status/", views_pdf.plan_pdf_status, name="plan_pdf_status"),
    path("<int:pk>/pdf/<int:pdf_pk>/retry/", views_pdf.plan_pdf_retry, name="plan_pdf_retry"),
    path("<int:pk>/cancel/", views.plan_cancel, name="plan_cancel"),
    path("<int:pk>/copy/", views.plan_copy, name="plan_copy"),
    path("<int:pk>/jira/", views_jira.plan_jira, name="plan_jira"),
    path("steps/<int:pk>/", views.step_row, name="step_row"),
    path("steps/<int:pk>/cell/<str:field>/", views.step_cell, name="step_cell"),
    path("steps/<int:pk>/delete/", views.step_delete, name="step_delete"),
    path("steps/<int:pk>/move/", views.step_move, name="step_move"),
    path("steps/<int:pk>/risks/", views.step_risks, name="step_risks"),
    path("columns/", views_columns.grid_columns, name="grid_columns"),
    path("people/search/", views_people.people_search, name="people_search"),
    path("attachments/<int:pk>/", views_attachments.attachment_download, name="attachment_download"),
]

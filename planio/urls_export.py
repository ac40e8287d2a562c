from django.urls import path

from . import views_export

app_name = "planio_export"
urlpatterns = [
    path("<int:pk>/docx/", views_export.plan_docx, name="plan_docx"),
]

from django.urls import path

from . import mailbox_views

urlpatterns = [
    path("mailbox/", mailbox_views.mailbox, name="mailbox"),
    path("mailbox/<int:pk>/", mailbox_views.mailbox_message, name="mailbox_message"),
]

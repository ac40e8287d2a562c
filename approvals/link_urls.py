"""One-click links from approval e-mails (signed, expiring, bound to approver, row and version)."""

from django.urls import path

from . import link_views

app_name = "approval_links"
urlpatterns = [
    path("<str:token>/", link_views.sign_link, name="confirm"),
]

"""One-click links from approval e-mails (signed, expiring, bound to approver, row and version)."""

app_name = "approval_links"
urlpatterns = []

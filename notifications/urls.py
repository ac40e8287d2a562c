from .urls_announcements import urlpatterns as announcement_urls
from .urls_mailbox import urlpatterns as mailbox_urls

app_name = "notifications"
urlpatterns = [*announcement_urls, *mailbox_urls]

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from changeplans.views import health
from sso import views as sso_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="changeplans:plan_list", permanent=False)),
    path("login/", sso_views.LoginView.as_view(), name="login"),
    path("logout/", sso_views.LogoutView.as_view(), name="logout"),
    path("sso/", include("sso.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", health, name="health"),
    path("plans/", include("changeplans.urls")),
    path("plans/", include("execution.urls")),
    path("plans/", include("runbooks.urls_automation")),
    path("plans/", include("planio.urls_export")),
    path("imports/", include("planio.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("approvals/", include("approvals.urls")),
    path("sign/", include("approvals.link_urls")),
    path("automation/", include("runbooks.urls_runs")),
    path("banners/", include("changeplans.urls_banners")),
    path("calendar/", include("changecalendar.urls")),
    path("", include("notifications.urls")),
    path("api/v1/", include("api.urls")),
    path("account/", include("api.urls_account")),
    path("admin/", admin.site.urls),
]

handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"

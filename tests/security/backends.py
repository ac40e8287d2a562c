"""django-axes for the test settings: the same lockout, plus direct `authenticate()` calls without a request.

Django's test `Client.login()` and some tests call `authenticate(username=…, password=…)` with no request;
AxesStandaloneBackend raises for those. Only such calls skip the throttle check; every request that
reaches the site (the login page, the admin login) is checked exactly as in production.
"""

from axes.backends import AxesStandaloneBackend


class AxesBackendForTests(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None  # nothing to throttle by: let the next backend check the password
        return super().authenticate(request, username=username, password=password, **kwargs)

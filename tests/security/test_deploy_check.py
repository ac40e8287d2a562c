"""`manage.py check --deploy` is clean under the documented production settings and environment.

The environment is the one docs/deployment.md and .env.example describe (real-looking secrets, the
proxy's host name), run in a fresh process exactly as the image runs it.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)


def documented_env():
    """The variables of .env.example, as compose reads them (${VAR} expanded, quotes removed)."""
    values = {}
    for line in (BASE_DIR / ".env.example").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        value = value.strip().strip('"')
        value = re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), ""), value)
        values[name.strip()] = value
    return values


def production_env(**overrides):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    }
    env.update(documented_env())
    # The secrets .env.example leaves empty on purpose, made as docs/deployment.md says.
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["OKNO_SECRETS_KEYS"] = Fernet.generate_key().decode()
    env.update(overrides)
    return env


def check_deploy(env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production():
    result = check_deploy(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout


def test_a_short_secret_key_is_reported():
    """The check can fail: the same run with a weak key is not clean."""
    result = check_deploy(production_env(SECRET_KEY="short"))
    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


EXPECTED = {
    "SECURE_SSL_REDIRECT": True,
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "X_FRAME_OPTIONS": "DENY",
    "SECURE_CONTENT_TYPE_NOSNIFF": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_REDIRECT_EXEMPT": [r"^healthz$"],
    "DEBUG": False,
}


def production_settings(names, **overrides):
    code = f"from django.conf import settings; print(repr({{n: getattr(settings, n) for n in {list(names)!r}}}))"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=BASE_DIR,
        env=production_env(**overrides),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    import ast

    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_production_security_settings():
    assert production_settings(EXPECTED) == EXPECTED


def test_hsts_seconds_are_configurable():
    assert production_settings(["SECURE_HSTS_SECONDS"], SECURE_HSTS_SECONDS="3600") == {"SECURE_HSTS_SECONDS": 3600}


def test_plain_http_trial_turns_the_https_redirect_off():
    """docs/deployment.md: SECURE_COOKIES=false to try Okno over http://host:8000 without a proxy."""
    names = ["SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"]
    assert production_settings(names, SECURE_COOKIES="false") == dict.fromkeys(names, False)


def test_no_proxy_header_when_nothing_sets_it():
    assert production_settings(["SECURE_PROXY_SSL_HEADER"], SECURE_PROXY_SSL_HEADER="none") == {
        "SECURE_PROXY_SSL_HEADER": None
    }


def test_the_production_login_limits_come_from_the_environment():
    from datetime import timedelta

    got = production_settings(["AXES_FAILURE_LIMIT", "AXES_LOCKOUT_PARAMETERS"], OKNO_LOGIN_FAILURE_LIMIT="7")
    assert got == {"AXES_FAILURE_LIMIT": 7, "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]]}
    minutes = production_settings(["OKNO_LOGIN_COOLOFF_MINUTES"], OKNO_LOGIN_COOLOFF_MINUTES="30")
    assert timedelta(minutes=minutes["OKNO_LOGIN_COOLOFF_MINUTES"]) == timedelta(minutes=30)

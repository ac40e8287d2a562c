"""OKNO_BASE_URL, the start of every link in e-mails (issue 15, item 2): a wrong production value fails
`manage.py check` (and so `migrate`) instead of mailing links to 127.0.0.1:8000.

The production runs are fresh processes under config.settings.prod with the environment of .env.example,
as tests/security/test_deploy_check.py runs them.
"""

import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from config.checks import base_url_problems
from tests.security.test_deploy_check import BASE_DIR, production_env


def _ids(url, *, public):
    return [problem.id for problem in base_url_problems(url, public=public)]


@pytest.mark.parametrize(
    "url", ["https://okno.example.org", "https://okno.example.org/", "http://10.1.2.3:8000", "https://[2001:db8::1]"]
)
def test_a_public_address_passes(url):
    assert _ids(url, public=True) == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "okno.E001"),
        ("okno.example.org", "okno.E002"),  # no scheme
        ("ftp://okno.example.org", "okno.E002"),
        ("https://", "okno.E002"),
        ("https://okno.example.org:port", "okno.E002"),
        ("https://okno.example.org/okno", "okno.E002"),  # links would be written after the path
        ("https://okno.example.org/?next=1", "okno.E002"),
        ("http://127.0.0.1:8000", "okno.E003"),
        ("http://localhost:8101", "okno.E003"),
        ("http://0.0.0.0:8000", "okno.E003"),
        ("http://[::1]:8000", "okno.E003"),
        ("http://okno.localhost", "okno.E003"),
    ],
)
def test_a_wrong_production_address_is_refused(url, expected):
    assert _ids(url, public=True) == [expected]


def test_the_embedded_default_may_be_local_but_not_malformed():
    assert _ids("http://127.0.0.1:8101", public=False) == []
    assert _ids("http://127.0.0.1:8101/okno", public=False) == ["okno.E002"]


def test_check_fails_on_a_malformed_address_under_any_settings(settings):
    settings.OKNO_BASE_URL = "127.0.0.1:8000"
    with pytest.raises(SystemCheckError, match=r"okno\.E002"):
        call_command("check")
    settings.OKNO_BASE_URL = "http://127.0.0.1:8000"
    call_command("check")  # the embedded default is fine outside production


def _check(**overrides):
    env = production_env(**overrides)
    for name, value in overrides.items():
        if value is None:
            env.pop(name)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, "okno.E001"), ("http://127.0.0.1:8000", "okno.E003"), ("https://okno.example.org/okno/", "okno.E002")],
)
def test_production_check_fails_on_a_missing_or_local_address(value, expected):
    result = _check(OKNO_BASE_URL=value)
    assert result.returncode != 0
    assert expected in result.stderr


def test_production_check_passes_with_the_documented_address():
    result = _check()
    assert result.returncode == 0, result.stderr
    assert "okno.E" not in result.stdout + result.stderr


def test_check_deploy_refuses_a_local_address_even_outside_production(tmp_path):
    env = production_env(DJANGO_SETTINGS_MODULE="config.settings.dev", OKNO_BASE_URL="http://localhost:8000")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env={**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "okno.E003" in result.stderr

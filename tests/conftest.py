"""Test set-up. Tests run on PostgreSQL (DATABASE_URL); in CI an unreachable database or Redis is a failure."""

import os

import pytest

from tests.factories import UserFactory

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _postgres_reachable():
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        return False
    import psycopg

    try:
        psycopg.connect(
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            user=db["USER"],
            dbname="postgres",
            connect_timeout=3,
        ).close()
    except psycopg.OperationalError:
        return False
    return True


def _redis_reachable():
    from django.conf import settings

    if not settings.REDIS_URL:
        return False
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError:
        return False
    return True


def pytest_configure(config):
    from django.conf import settings

    if not _postgres_reachable():
        if IN_CI:
            raise pytest.UsageError(
                f"PostgreSQL is unreachable at {settings.DATABASES['default'].get('HOST')}: "
                "CI needs it (tests fail, not skip)."
            )
        # A developer's machine without PostgreSQL: run on SQLite and skip tests marked postgres.
        settings.DATABASES["default"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        from django.db import connections

        connections.__dict__.pop("settings", None)  # read DATABASES again (Django fills in the defaults)
        try:
            del connections["default"]  # a connection object made for PostgreSQL before this point
        except AttributeError:
            pass
        config._okno_skip_marker = {"postgres"}
    if not _redis_reachable():
        if IN_CI:
            raise pytest.UsageError(
                f"Redis is unreachable at {settings.REDIS_URL!r}: CI needs it (tests fail, not skip)."
            )
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        config._okno_skip_marker = getattr(config, "_okno_skip_marker", set()) | {"redis"}


def pytest_collection_modifyitems(config, items):
    for marker in getattr(config, "_okno_skip_marker", ()):
        skip = pytest.mark.skip(reason=f"{marker} is not reachable on this machine (in CI this is a failure)")
        for item in items:
            if marker in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def author(db):
    return UserFactory(username="author", roles=["author"])


@pytest.fixture
def other_author(db):
    return UserFactory(username="other_author", roles=["author"])


@pytest.fixture
def approver(db):
    return UserFactory(username="approver", roles=["approver"])


@pytest.fixture
def duty(db):
    """The duty officer ("Иванов П.С."): starts the work and ticks steps on the board."""
    return UserFactory(username="duty", last_name="Иванов", first_name="П.С.", roles=["duty_officer"])


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", roles=["operator"])


@pytest.fixture
def engineer(db):
    """An author who is nobody's responsible: may not tick."""
    return UserFactory(username="engineer", roles=["author"])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", roles=["admin"], is_staff=True, is_superuser=True)


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client


@pytest.fixture
def running_plan(author, duty):
    """An approved plan started by the duty officer: steps 1–3 (automation tests add their automation)."""
    from execution import transitions
    from tests.factories import StepFactory
    from tests.runbooks.automation_fixtures import make_plan

    plan = make_plan(author)
    for n in (1, 2, 3):
        StepFactory(plan=plan, position=n, name=f"Шаг {n}")
    transitions.start_plan(plan.pk, actor=duty)
    plan.refresh_from_db()
    return plan


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the project's default language: a request's LocaleMiddleware leaves the language it
    activated on the thread, and texts stored in the active language would depend on the order of the tests."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()

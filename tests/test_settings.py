"""Every OKNO_* setting has one default, in config/settings/base.py; the apps read it as `settings.OKNO_…`.

A default written next to a read (`getattr(settings, "OKNO_X", 5)`) is a second home for the rule: it
drifts from base.py (notifications/conf.py once said OKNO_USE_WORKER was False while base.py said True)
and hides a setting missing from base.py. To see the tests fail, write `getattr(settings, "OKNO_USE_WORKER",
False)` in any app module, or read `settings.OKNO_NEW_THING` without defining it in base.py.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "config" / "settings" / "base.py"
# Project code that runs with Django settings: every app, common/ and config/.
CODE_DIRS = sorted({path.parent.name for path in ROOT.glob("*/apps.py")} | {"common", "config"})


def _modules():
    for name in CODE_DIRS:
        for path in sorted((ROOT / name).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, ast.parse(path.read_text(), str(path))


def _is_settings(node):
    return isinstance(node, ast.Name) and node.id in {"settings", "django_settings"}


def _okno_name(node):
    is_okno = isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("OKNO_")
    return node.value if is_okno else None


def _settings_reads(tree):
    """(name, line, has a default) for settings.OKNO_X and getattr/hasattr(settings, "OKNO_X"[, default])."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _is_settings(node.value) and node.attr.startswith("OKNO_"):
            yield node.attr, node.lineno, False
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in {"getattr", "hasattr"}
            and len(node.args) >= 2
            and _is_settings(node.args[0])
            and _okno_name(node.args[1])
        ):
            yield _okno_name(node.args[1]), node.lineno, len(node.args) == 3


def _defined_in_base():
    names = set()
    for node in ast.parse(BASE.read_text()).body:
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def test_no_okno_setting_has_a_default_outside_base():
    found = [
        f"{path.relative_to(ROOT)}:{line} getattr(settings, {name!r}, …)"
        for path, tree in _modules()
        if path != BASE
        for name, line, has_default in _settings_reads(tree)
        if has_default
    ]
    assert found == [], "OKNO_* defaults live in config/settings/base.py only; read them as settings.OKNO_…"


def test_every_okno_setting_the_code_reads_is_defined_in_base():
    defined = _defined_in_base()
    missing = sorted(
        f"{path.relative_to(ROOT)}:{line} {name}"
        for path, tree in _modules()
        for name, line, _has_default in _settings_reads(tree)
        if name not in defined
    )
    assert missing == [], "define these in config/settings/base.py"


def test_the_scan_sees_reads_and_defaults():
    # Given a module with a plain read and a read with a default
    tree = ast.parse('from django.conf import settings\na = settings.OKNO_A\nb = getattr(settings, "OKNO_B", 1)\n')
    # then both reads are found and only the second has a default
    assert list(_settings_reads(tree)) == [("OKNO_A", 2, False), ("OKNO_B", 3, True)]
    assert {"OKNO_USE_WORKER", "OKNO_BASE_URL"} <= _defined_in_base()


def test_the_base_url_default_is_written_once():
    literal = "http://127.0.0.1:8000"
    found = [str(path.relative_to(ROOT)) for path, _tree in _modules() if literal in path.read_text()]
    assert found == ["config/settings/base.py"]


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_connections_run_without_jit():
    """JIT compiling cost the lists and the navigation query 30-35 ms at 50,000 plans (DB_JIT, deployment.md)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"

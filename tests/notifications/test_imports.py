"""`notifications` is handed what to send: it imports no domain app, its models point at no domain model, and its
templates load no domain tag library (STYLE.md, Layout)."""

import ast
import re
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.template import engines

import notifications

DOMAIN_APPS = {"changeplans", "approvals", "runbooks", "execution", "demo"}
ROOT = Path(notifications.__file__).parent


def test_notifications_imports_no_domain_app():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue  # history: the migrations before 0006 created the banner that now lives in changeplans
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in DOMAIN_APPS]
    assert offenders == []


def test_no_model_of_notifications_points_at_a_domain_model():
    offenders = [
        f"{model.__name__}.{field.name} -> {field.related_model._meta.label}"
        for model in apps.get_app_config("notifications").get_models()
        for field in model._meta.get_fields()
        if field.is_relation and field.related_model is not None and field.related_model._meta.app_label in DOMAIN_APPS
    ]
    assert offenders == []


def test_templates_of_notifications_load_no_domain_tag_library():
    libraries = engines["django"].engine.libraries  # name -> dotted module path
    folder = Path(settings.BASE_DIR) / "templates" / "notifications"
    offenders = []
    for path in [*folder.rglob("*.html"), *folder.rglob("*.txt"), *(ROOT / "message_defaults").rglob("*.*")]:
        for names in re.findall(r"{%\s*load\s+([^%]*?)\s*%}", path.read_text()):
            for name in names.split():
                module = libraries.get(name, name)
                if module.split(".")[0] in DOMAIN_APPS:
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []

"""`notifications` is handed what to send: it imports no domain app (STYLE.md, Layout)."""

import ast
from pathlib import Path

import notifications

DOMAIN_APPS = {"changeplans", "approvals", "runbooks"}


def test_notifications_imports_no_domain_app():
    offenders = []
    for path in Path(notifications.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name}: {name}" for name in names if name.split(".")[0] in DOMAIN_APPS]
    assert offenders == []

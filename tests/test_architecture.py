"""The import direction of the apps (docs/architecture.md), for code and templates.

The layers live in one place, `.importlinter` (also run by `lint-imports` in `make check`). A module may import
from its own app and from the apps below it; imports inside functions count, and so does a template under
`templates/<app>/` that loads another app's tag library or includes or extends another app's template.
To see this test fail, add `from runbooks import models` inside any function of `changeplans/services.py`, or
`{% load signoff %}` to `templates/changeplans/plan_list.html`.
"""

import ast
import configparser
import re
from pathlib import Path

from django.template.backends.django import get_installed_libraries

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def _layers():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    lines = config["importlinter:contract:layers"]["layers"].split()
    return {app: rank for rank, app in enumerate(reversed(lines))}  # higher rank = higher layer


LAYERS = _layers()


def _app_of(module):
    return module.split(".")[0]


def _imported_modules(path, module):
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                yield ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def _python_files(app):
    for path in sorted((ROOT / app).rglob("*.py")):
        if "migrations" in path.parts:  # historical migrations name models by string; they are never imported by code
            continue
        yield path, ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_every_app_has_a_layer():
    apps = {path.parent.name for path in ROOT.glob("*/apps.py")}
    assert apps - set(LAYERS) == set(), "add the new app to the layers in .importlinter"


def test_code_imports_only_downwards():
    upward = []
    for app, rank in LAYERS.items():
        for path, module in _python_files(app):
            for imported in _imported_modules(path, module):
                target = _app_of(imported)
                if target in LAYERS and LAYERS[target] > rank:
                    upward.append(f"{module} imports {imported}")
    assert upward == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "services.py"
    module.write_text("def f():\n    from runbooks import models\n    from . import history\n")
    assert list(_imported_modules(module, "changeplans.services")) == ["runbooks", "changeplans"]


LOAD = re.compile(r"{%\s*load\s+([^%]+?)\s*%}")
USES = re.compile(r"""{%\s*(?:include|extends)\s+["']([a-z_]+)/""")


def _library_apps():
    return {name: _app_of(module) for name, module in get_installed_libraries().items()}


def test_templates_use_only_downwards():
    libraries = _library_apps()
    upward = []
    for app, rank in LAYERS.items():
        folder = TEMPLATES / app
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if not path.is_file():
                continue
            text = path.read_text()
            used = [
                (name, libraries.get(name, ""))
                for match in LOAD.finditer(text)
                for name in match.group(1).split()
                if name != "from"
            ]
            used += [(f"{target}/…", target) for target in USES.findall(text)]
            for what, target in used:
                if target in LAYERS and LAYERS[target] > rank:
                    upward.append(f"{path.relative_to(TEMPLATES)} uses {what} of {target}")
    assert upward == []


def test_tag_libraries_are_known():
    """The template check maps libraries to apps: a library of an app outside the layers would slip through."""
    libraries = _library_apps()
    ours = {name: app for name, app in libraries.items() if (ROOT / app).is_dir()}
    assert set(ours.values()) <= set(LAYERS)
    assert {"okno", "signoff"} <= set(ours)


def test_the_drawn_import_graph_matches_the_code():
    """docs/architecture.md draws the app imports; regenerate with `scripts/architecture_graph.py --write`."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("architecture_graph", ROOT / "scripts" / "architecture_graph.py")
    graph = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(graph)
    text = (ROOT / "docs" / "architecture.md").read_text()
    assert graph.with_diagram(text, graph.diagram()) == text

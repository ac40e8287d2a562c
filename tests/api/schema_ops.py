"""The API's operations as its OpenAPI schema lists them, for tests that must cover every endpoint."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from drf_spectacular.generators import SchemaGenerator

METHODS = ("get", "post", "put", "patch", "delete")
UNSAFE = {"post", "put", "patch", "delete"}
_PARAMETER = re.compile(r"\{([a-z_]+)\}")


def api_schema() -> dict[str, Any]:
    """The schema as /api/v1/schema/ serves it (the same generator drf-spectacular's view runs)."""
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> Iterator[tuple[str, str]]:
    for path, item in api_schema()["paths"].items():
        for method in item:
            if method in METHODS:
                yield method, path


def id_kind(path: str, name: str) -> str:
    """What an id in a path names: `{plan_pk}` → plan; `/steps/{pk}/` → step; `/matrix/{pk}/` → matrix."""
    if name.endswith(("_pk", "_id")):
        return name.rsplit("_", 1)[0]
    match = re.search(r"/([a-z_-]+)/\{" + re.escape(name) + r"\}", path)
    return match[1].removesuffix("s").replace("-", "_") if match else name


def fill(path: str, ids: dict[str, int], default: int) -> str:
    """The path with each id replaced by the id of that kind in `ids` (or `default`)."""
    return _PARAMETER.sub(lambda m: str(ids.get(id_kind(path, m[1]), default)), path)

"""Answers every API operation can give, added to the OpenAPI schema once instead of on each view.

401 (no or bad credentials), 403 (a read-only token writing, or a refusal), 404 (an id that does not exist
or that the caller may not see) for operations with an id in the path, and a malformed `cursor` for lists
(DRF's cursor pagination answers 404 for it), 400 for those that take input.
"""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        "revision": {"type": "integer"},
        "signatures": {"type": "integer"},
    },
    "required": ["detail"],
}
COMMON = {
    "401": "Not signed in: no token, or one that is unknown, expired or revoked.",
    "403": "Refused: the caller's roles do not allow it, or a read-only token tried to write.",
}
METHODS = ("get", "post", "put", "patch", "delete")


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def add_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    result.setdefault("components", {}).setdefault("schemas", {}).setdefault("Error", ERROR_SCHEMA)
    for path, item in result.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for code, description in COMMON.items():
                responses.setdefault(code, _error(description))
            names = {parameter.get("name") for parameter in operation.get("parameters", [])}
            if "{" in path or "cursor" in names:
                responses.setdefault("404", _error("No such object, the caller may not see it, or a bad cursor."))
            if operation.get("parameters") or operation.get("requestBody"):
                responses.setdefault("400", _error("Malformed input: the reasons per field."))
    return result

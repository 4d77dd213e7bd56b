"""Validation of request bodies against Google's discovery document for Sheets v4.

The document ships in google-api-python-client (a test dependency). Unknown fields and
bad enum values get the same 400 body Google sends.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient


@cache
def discovery() -> dict[str, Any]:
    root = Path(googleapiclient.__file__).parent
    path = root / "discovery_cache" / "documents" / "sheets.v4.json"
    return json.loads(path.read_text(encoding="utf-8"))


class Invalid(Exception):
    """A body Google would refuse with 400 INVALID_ARGUMENT."""


def _check(value: Any, spec: dict[str, Any], where: str) -> None:
    schemas = discovery()["schemas"]
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    kind = spec.get("type")
    if value is None:
        return
    if kind == "object":
        if not isinstance(value, dict):
            raise Invalid(f"Invalid value at '{where}', {json.dumps(value)}")
        properties = spec.get("properties")
        extra = spec.get("additionalProperties")
        for name, item in value.items():
            if properties is not None and name in properties:
                _check(item, properties[name], f"{where}.{name}" if where else name)
            elif extra is not None:
                _check(item, extra, f"{where}[{name}]")
            else:
                at = f" at '{where}'" if where else ""
                raise Invalid(
                    f'Invalid JSON payload received. Unknown name "{name}"{at}: Cannot find field.'
                )
    elif kind == "array":
        if not isinstance(value, list):
            raise Invalid(
                f"Invalid value at '{where}' (type.googleapis.com/google.protobuf."
                f"ListValue), {json.dumps(value)}"
            )
        for i, item in enumerate(value):
            _check(item, spec.get("items", {}), f"{where}[{i}]")
    elif kind == "string":
        if "enum" in spec and value not in spec["enum"]:
            raise Invalid(
                f"Invalid value at '{where}' ({spec.get('format', 'TYPE_ENUM')}), \"{value}\""
            )
        if not isinstance(value, str):
            raise Invalid(f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}")
    elif kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise Invalid(f"Invalid value at '{where}' (TYPE_INT32), {json.dumps(value)}")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"Invalid value at '{where}' (TYPE_DOUBLE), {json.dumps(value)}")
    elif kind == "boolean" and not isinstance(value, bool):
        raise Invalid(f"Invalid value at '{where}' (TYPE_BOOL), {json.dumps(value)}")


def validate_body(schema: str, body: Any) -> None:
    """Raise Invalid when `body` is not a valid `schema` (e.g. BatchUpdateValuesRequest)."""
    _check(body, {"$ref": schema}, "")


def validate_query(method: str, params: dict[str, list[str]]) -> None:
    """Check query parameters that are enums against the method's declared parameters."""
    resources = discovery()["resources"]["spreadsheets"]
    if method.startswith("values."):
        spec = resources["resources"]["values"]["methods"][method.split(".", 1)[1]]
    else:
        spec = resources["methods"][method]
    declared = spec["parameters"]
    for name, values in params.items():
        if name in ("fields", "alt", "prettyPrint", "key", "access_token", "quotaUser"):
            continue
        if name not in declared:
            raise Invalid(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind '
                "query parameter. Field '" + name + "' could not be found in request "
                "message."
            )
        enum = declared[name].get("enum")
        for value in values:
            if enum and value not in enum:
                raise Invalid(f"Invalid value at '{name}' (TYPE_ENUM), \"{value}\"")

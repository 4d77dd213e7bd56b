"""Request validation against Google's own discovery document for the Sheets API v4.

The document ships offline in google-api-python-client (a test dependency). Bodies and
enum-valued query parameters that Google would refuse are refused here with the same
400 message: unknown fields, bad enum values, wrong JSON types, two kinds in one
`Request`. Paths in messages use Google's snake_case field names
(`requests[0].add_sheet.properties`), as its proto-JSON parser reports them.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

# query parameters every Google API accepts (the document's top-level "parameters")
STANDARD = {
    "$.xgafv",
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "upload_protocol",
    "uploadType",
}


@cache
def discovery() -> dict[str, Any]:
    """Google's discovery document for sheets.v4, as shipped with google-api-python-client."""
    root = Path(googleapiclient.__file__).parent
    path = root / "discovery_cache" / "documents" / "sheets.v4.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


class Invalid(Exception):
    """A request Google would refuse with 400 INVALID_ARGUMENT; `field` is the violation."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def snake(name: str) -> str:
    """valueInputOption -> value_input_option, as Google names fields in its messages."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _join(where: str, name: str) -> str:
    return f"{where}.{snake(name)}" if where else snake(name)


def _enum_type(spec: dict[str, Any], name: str) -> str:
    # Google names the proto enum type; the discovery document does not, so derive it
    base = name[0].upper() + name[1:]
    base = base.removeprefix("Response").replace("MajorDimension", "Dimension")
    base = {"Type": "ConditionType", "Dimension": "Dimension"}.get(base, base)
    return f"type.googleapis.com/google.apps.sheets.v4.{base}"


def _check(value: Any, spec: dict[str, Any], where: str, name: str = "") -> None:
    schemas = discovery()["schemas"]
    if "$ref" in spec:
        spec = schemas[spec["$ref"]]
    kind = spec.get("type")
    if value is None:
        return  # JSON null is "not set" for proto3 JSON
    if kind == "object":
        if not isinstance(value, dict):
            raise Invalid(
                f"Invalid value at '{where}' (type.googleapis.com/google.protobuf.Struct), "
                f"{json.dumps(value)}",
                where,
            )
        properties = spec.get("properties")
        extra = spec.get("additionalProperties")
        for key, item in value.items():
            if properties is not None and key in properties:
                _check(item, properties[key], _join(where, key), key)
            elif extra is not None:
                _check(item, extra, f"{where}[{key}]", key)
            else:
                at = f" at '{where}'" if where else ""
                raise Invalid(
                    f'Invalid JSON payload received. Unknown name "{key}"{at}: Cannot find field.',
                    where,
                )
        if spec.get("id") == "Request":
            kinds = [k for k, v in value.items() if v is not None]
            if len(kinds) > 1:
                raise Invalid(
                    "Invalid JSON payload received. Oneof field 'kind' is already set. "
                    f"Cannot set '{kinds[1]}'",
                    where,
                )
    elif kind == "array":
        if not isinstance(value, list):
            raise Invalid(
                f"Invalid value at '{where}' (type.googleapis.com/google.protobuf.ListValue), "
                f"{json.dumps(value)}",
                where,
            )
        for i, item in enumerate(value):
            _check(item, spec.get("items", {}), f"{where}[{i}]", name)
    elif kind == "string":
        if "enum" in spec:
            if value not in spec["enum"]:
                raise Invalid(
                    f"Invalid value at '{where}' ({_enum_type(spec, name)}), {json.dumps(value)}",
                    where,
                )
        elif spec.get("format") in ("int64", "uint64"):
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise Invalid(
                    f"Invalid value at '{where}' (TYPE_INT64), {json.dumps(value)}", where
                )
        elif not isinstance(value, str):
            raise Invalid(f"Invalid value at '{where}' (TYPE_STRING), {json.dumps(value)}", where)
    elif kind == "integer":
        ok = not isinstance(value, bool) and (
            isinstance(value, int)
            or (isinstance(value, float) and value.is_integer())
            or (isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None)
        )
        if not ok:
            raise Invalid(f"Invalid value at '{where}' (TYPE_INT32), {json.dumps(value)}", where)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Invalid(f"Invalid value at '{where}' (TYPE_DOUBLE), {json.dumps(value)}", where)
    elif kind == "boolean" and not isinstance(value, bool):
        raise Invalid(f"Invalid value at '{where}' (TYPE_BOOL), {json.dumps(value)}", where)


def validate_body(schema: str, body: Any, root: str = "") -> None:
    """Raise Invalid when `body` is not a valid `schema` (e.g. "BatchUpdateValuesRequest").

    `root` is the name Google gives the body in its messages when the body is one field of
    the request message (values.update: 'data'), empty when the body is the message.
    """
    _check(body, {"$ref": schema}, root)


def method_spec(method: str) -> dict[str, Any]:
    """The discovery entry of a method named like "get" or "values.batchGet"."""
    resources = discovery()["resources"]["spreadsheets"]
    if method.startswith("values."):
        return dict(resources["resources"]["values"]["methods"][method.split(".", 1)[1]])
    return dict(resources["methods"][method])


def validate_query(method: str, params: dict[str, list[str]]) -> None:
    """Check a method's query parameters: known names, enum values, booleans, integers."""
    declared = method_spec(method)["parameters"]
    for name, values in params.items():
        if name in STANDARD:
            continue
        spec = declared.get(name)
        if spec is None or spec.get("location") == "path":
            raise Invalid(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                f"parameter. Field '{name}' could not be found in request message.",
                name,
            )
        if len(values) > 1 and not spec.get("repeated"):
            raise Invalid(
                f"Invalid JSON payload received. Cannot bind query parameter. '{name}' is not a "
                "repeated field.",
                name,
            )
        for value in values:
            enum = spec.get("enum")
            if enum and value not in enum:
                raise Invalid(
                    f"Invalid value at '{snake(name)}' ({_enum_type(spec, name)}), \"{value}\"",
                    snake(name),
                )
            if spec.get("type") == "boolean" and value.lower() not in ("true", "false"):
                raise Invalid(f"Invalid value at '{snake(name)}' (TYPE_BOOL), \"{value}\"", name)

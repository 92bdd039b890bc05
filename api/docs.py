"""/api/docs/: a readable page of the OpenAPI schema, rendered on the server.

Swagger UI and ReDoc load their scripts from a CDN, and this product must work offline, so
the page is plain HTML built from the very schema /api/schema/ serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(slots=True)
class Param:
    name: str
    where: str
    type: str
    required: bool
    description: str


@dataclass(slots=True)
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    params: list[Param] = field(default_factory=list)
    body: str = ""
    responses: list[tuple[str, str, str]] = field(default_factory=list)  # code, schema, description


@dataclass(slots=True)
class Component:
    name: str
    fields: list[Param]


def type_name(schema: dict[str, Any] | None) -> str:
    """A short human name of a schema: `Exchange`, `list of Exchange`, `number`, `string (date-time)`."""
    if not schema:
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "allOf" in schema or "oneOf" in schema:
        parts = schema.get("allOf") or schema.get("oneOf") or []
        return " | ".join(type_name(part) for part in parts)
    kind = schema.get("type", "object")
    if kind == "array":
        return f"list of {type_name(schema.get('items'))}"
    if "enum" in schema:
        return " | ".join(str(value) for value in schema["enum"] if value not in ("", None))
    name = str(kind) + (f" ({schema['format']})" if "format" in schema else "")
    return name + (", nullable" if schema.get("nullable") else "")


def _body_schema(content: dict[str, Any] | None) -> str:
    if not content:
        return ""
    media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
    return type_name(media.get("schema"))


def build_page(schema: dict[str, Any]) -> tuple[list[Operation], list[Component]]:
    operations: list[Operation] = []
    for path, item in schema.get("paths", {}).items():
        for method in HTTP_METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            operation = Operation(
                method=method.upper(),
                path=path,
                anchor=str(spec.get("operationId", f"{method}-{path}")),
                summary=str(spec.get("description") or spec.get("summary") or ""),
                body=_body_schema(spec.get("requestBody", {}).get("content")),
            )
            for param in spec.get("parameters", []):
                operation.params.append(
                    Param(
                        name=param["name"],
                        where=param.get("in", ""),
                        type=type_name(param.get("schema")),
                        required=bool(param.get("required")),
                        description=str(param.get("description", "")),
                    )
                )
            for code, response in spec.get("responses", {}).items():
                operation.responses.append(
                    (str(code), _body_schema(response.get("content")), str(response.get("description", "")))
                )
            operations.append(operation)
    components = []
    for name, component in sorted(schema.get("components", {}).get("schemas", {}).items()):
        required = set(component.get("required", []))
        fields = [
            Param(
                name=prop,
                where="read-only" if spec.get("readOnly") else "",
                type=type_name(spec),
                required=prop in required,
                description=str(spec.get("description", "")),
            )
            for prop, spec in component.get("properties", {}).items()
        ]
        components.append(Component(name, fields))
    return operations, components


@login_required
def api_docs(request: HttpRequest) -> HttpResponse:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations, components = build_page(schema)
    return render(
        request,
        "api/docs.html",
        {"info": schema.get("info", {}), "operations": operations, "components": components},
    )

"""OpenAPI documents generated from the schema table, for what the cluster's version serves.

``/openapi/v2`` (JSON, or protobuf for client-go, which only reads protobuf) and, from 1.24
where it is on by default, ``/openapi/v3`` (an index, then one document per group
version). Definitions carry ``x-kubernetes-group-version-kind`` on kinds and the
strategic-merge extensions on keyed lists, so ``kubectl apply`` (client-side validation,
patch computation) and ``kubectl explain`` work. From 1.25 PATCH operations list the
``fieldValidation`` parameter, so kubectl leaves unknown-field checks to the server.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from ekstwin.kubeapi.openapi_proto import encode_document
from ekstwin.kubeapi.resources import LEGACY_ALIASES, LEGACY_VERSION, Minor, Registry, ResourceType
from ekstwin.kubeapi.schema import (
    KINDS,
    PRIMITIVES,
    SPECIAL_DEFINITIONS,
    TYPES,
    Context,
    Field,
    TypeDef,
)

Doc = dict[str, Any]
V3_SINCE: Minor = (1, 24)
FIELD_VALIDATION_SINCE: Minor = (1, 25)
PROTOBUF_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PROTOBUF_V2_RETURNED = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
_SPECIAL_SCHEMAS: dict[str, Doc] = {
    "quantity": {
        "description": "Quantity is a fixed-point representation of a number.",
        "type": "string",
    },
    "intstr": {
        "description": "IntOrString is a type that can hold an int32 or a string.",
        "type": "string",
        "format": "int-or-string",
    },
    "time": {
        "description": "Time is a wrapper around time.Time.",
        "type": "string",
        "format": "date-time",
    },
    "microtime": {
        "description": "MicroTime is version of Time with microsecond level precision.",
        "type": "string",
        "format": "date-time",
    },
}
_PRIMITIVE_SCHEMAS: dict[str, Doc] = {
    "string": {"type": "string"},
    "integer": {"type": "integer", "format": "int32"},
    "int64": {"type": "integer", "format": "int64"},
    "boolean": {"type": "boolean"},
    "number": {"type": "number", "format": "double"},
    "bytes": {"type": "string", "format": "byte"},
    "object": {"type": "object"},
    "any": {},
}


class _Builder:
    """Definitions for one cluster version, in OpenAPI v2 (``#/definitions/``) or v3
    (``#/components/schemas/``) form."""

    def __init__(self, minor: Minor, ref_prefix: str, *, v3: bool) -> None:
        self.minor = minor
        self.prefix = ref_prefix
        self.v3 = v3
        self.definitions: dict[str, Doc] = {}

    def ref(self, name: str, description: str = "") -> Doc:
        target = {"$ref": self.prefix + name}
        if not description:
            return target
        if self.v3:
            return {"allOf": [target], "description": description, "default": {}}
        return {**target, "description": description}

    def kind(self, typedef: TypeDef, ctx: Context, gvk: dict[str, str]) -> str:
        name = self.struct(f"{typedef.pkg}.{typedef.name}", ctx)
        self.definitions[name]["x-kubernetes-group-version-kind"] = [gvk]
        return name

    def struct(self, ref: str, ctx: Context) -> str:
        name = ctx.definition(ref)
        if name in self.definitions:
            return name
        typedef = TYPES[ref]
        schema: Doc = {"description": typedef.doc, "type": "object"}
        self.definitions[name] = schema
        fields = typedef.fields_at(ctx.version, ctx.minor)
        required = [f.name for f in fields if f.is_required(ctx.version)]
        if required:
            schema["required"] = required
        schema["properties"] = {f.name: self.field(f, ctx) for f in fields}
        return name

    def field(self, field: Field, ctx: Context) -> Doc:
        schema = self.type(field.type, ctx, field.doc)
        if field.list_of is not None:
            if field.keys:
                schema["x-kubernetes-patch-merge-key"] = field.keys[0]
                schema["x-kubernetes-list-type"] = "map"
                schema["x-kubernetes-list-map-keys"] = list(field.keys)
            elif field.strategy.startswith("merge") and field.list_of in PRIMITIVES:
                schema["x-kubernetes-list-type"] = "set"
            else:
                schema["x-kubernetes-list-type"] = "atomic"
        if field.strategy:
            schema["x-kubernetes-patch-strategy"] = field.strategy
        return schema

    def type(self, kind: str, ctx: Context, description: str = "") -> Doc:
        if kind.startswith("[]"):
            out: Doc = {"type": "array", "items": self.type(kind[2:], ctx)}
        elif kind.startswith("{}"):
            out = {"type": "object", "additionalProperties": self.type(kind[2:], ctx)}
        elif kind in SPECIAL_DEFINITIONS:
            name = SPECIAL_DEFINITIONS[kind]
            self.definitions.setdefault(name, dict(_SPECIAL_SCHEMAS[kind]))
            return self.ref(name, description)
        elif kind in _PRIMITIVE_SCHEMAS:
            out = dict(_PRIMITIVE_SCHEMAS[kind])
        else:
            return self.ref(self.struct(kind, ctx), description)
        if description:
            out["description"] = description
        return out


def _served(registry: Registry, minor: Minor) -> list[tuple[ResourceType, str, str]]:
    """``(type, group, version)`` for every built-in kind the cluster serves."""
    out = []
    for rtype in registry.all():
        if rtype.custom or rtype.key not in KINDS:
            continue
        for version in rtype.served(minor):
            out.append((rtype, rtype.group, version))
    if LEGACY_VERSION.served_at(minor):
        for key in LEGACY_ALIASES.values():
            legacy = registry.get(key)
            if legacy is not None:
                out.append((legacy, "extensions", "v1beta1"))
    return out


def _add_kind(builder: _Builder, rtype: ResourceType, group: str, version: str) -> str:
    typedef = TYPES[KINDS[rtype.key]]
    ctx = Context(group, version, builder.minor)
    gvk = {"group": group, "kind": rtype.kind, "version": version}
    return builder.kind(typedef, ctx, gvk)


# --- paths --------------------------------------------------------------------------------


def _gv_path(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


def _param(name: str, where: str, kind: str, description: str, *, v3: bool) -> Doc:
    if v3:
        return {"name": name, "in": where, "description": description, "schema": {"type": kind}}
    return {"name": name, "in": where, "description": description, "type": kind}


def _paths(
    rtype: ResourceType, group: str, version: str, definition: str, minor: Minor, *, v3: bool
) -> dict[str, Doc]:
    """Collection and item paths of one resource: the operations and their parameters."""
    base = _gv_path(group, version)
    scope = "/namespaces/{namespace}" if rtype.namespaced else ""
    collection = f"{base}{scope}/{rtype.plural}"
    gvk = {"group": group, "kind": rtype.kind, "version": version}
    ref_prefix = "#/components/schemas/" if v3 else "#/definitions/"
    answer = {"$ref": ref_prefix + definition}

    def operation(action: str, verb: str, query: list[str]) -> Doc:
        params = [_param(q, "query", "string", _QUERY_DOCS[q], v3=v3) for q in query]
        if v3:
            responses: Doc = {
                "200": {"description": "OK", "content": {"application/json": {"schema": answer}}}
            }
        else:
            responses = {"200": {"description": "OK", "schema": answer}}
        return {
            "operationId": f"{verb}{rtype.kind}",
            "parameters": params,
            "responses": responses,
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }

    write = ["dryRun", "fieldManager"]
    if minor >= FIELD_VALIDATION_SINCE:
        write.append("fieldValidation")
    patch = [*write, "force"] if minor >= (1, 16) else write
    path_params = [_param("name", "path", "string", "name of the resource", v3=v3)]
    if rtype.namespaced:
        path_params.append(
            _param("namespace", "path", "string", "object name and auth scope", v3=v3)
        )
    return {
        collection: {
            "get": operation("list", "list", ["labelSelector", "fieldSelector"]),
            "post": operation("post", "create", write),
            "parameters": path_params[1:],
        },
        f"{collection}/{{name}}": {
            "get": operation("get", "read", []),
            "put": operation("put", "replace", write),
            "patch": operation("patch", "patch", patch),
            "delete": operation("delete", "delete", ["dryRun"]),
            "parameters": path_params,
        },
    }


_QUERY_DOCS = {
    "dryRun": "When present, indicates that modifications should not be persisted.",
    "fieldManager": "A name associated with the actor or entity that is making these changes.",
    "fieldValidation": "How the server handles unknown or duplicate fields: Ignore, Warn, Strict.",
    "force": 'Force is going to "force" Apply requests.',
    "labelSelector": "A selector to restrict the list of returned objects by their labels.",
    "fieldSelector": "A selector to restrict the list of returned objects by their fields.",
}


# --- documents ----------------------------------------------------------------------------


def v2_document(registry: Registry, minor: Minor, git_version: str) -> Doc:
    """The ``/openapi/v2`` Swagger 2.0 document."""
    builder = _Builder(minor, "#/definitions/", v3=False)
    paths: dict[str, Doc] = {}
    for rtype, group, version in _served(registry, minor):
        name = _add_kind(builder, rtype, group, version)
        paths.update(_paths(rtype, group, version, name, minor, v3=False))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": git_version},
        "paths": dict(sorted(paths.items())),
        "definitions": dict(sorted(builder.definitions.items())),
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "type": "apiKey",
                "name": "authorization",
                "in": "header",
            }
        },
        "security": [{"BearerToken": []}],
    }


def _v3_key(group: str, version: str) -> str:
    return _gv_path(group, version).lstrip("/")


def v3_documents(registry: Registry, minor: Minor, git_version: str) -> dict[str, Doc]:
    """One OpenAPI 3.0 document per served group version, keyed ``api/v1``, ``apis/apps/v1``."""
    builders: dict[str, _Builder] = {}
    paths: dict[str, dict[str, Doc]] = {}
    for rtype, group, version in _served(registry, minor):
        key = _v3_key(group, version)
        builder = builders.setdefault(key, _Builder(minor, "#/components/schemas/", v3=True))
        name = _add_kind(builder, rtype, group, version)
        paths.setdefault(key, {}).update(_paths(rtype, group, version, name, minor, v3=True))
    return {
        key: {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": git_version},
            "paths": dict(sorted(paths[key].items())),
            "components": {
                "schemas": dict(sorted(builder.definitions.items())),
                "securitySchemes": {
                    "BearerToken": {
                        "type": "apiKey",
                        "description": "Bearer Token authentication",
                        "name": "authorization",
                        "in": "header",
                    }
                },
            },
        }
        for key, builder in sorted(builders.items())
    }


class OpenApi:
    """The documents of the store's current version, built once per version and kind set."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[Any, ...], tuple[bytes, dict[str, bytes]]] = {}
        self._protobuf: dict[bytes, bytes] = {}

    def _built(
        self, registry: Registry, minor: Minor, git_version: str
    ) -> tuple[bytes, dict[str, bytes]]:
        key = (minor, git_version, tuple(sorted(r.key for r in registry.all())))
        with self._lock:
            found = self._cache.get(key)
            if found is None:
                v2 = json.dumps(v2_document(registry, minor, git_version)).encode()
                v3 = {
                    path: json.dumps(doc).encode()
                    for path, doc in v3_documents(registry, minor, git_version).items()
                }
                found = (v2, v3)
                self._cache = {key: found}
            return found

    def v2_json(self, registry: Registry, minor: Minor, git_version: str) -> bytes:
        return self._built(registry, minor, git_version)[0]

    def v2_protobuf(self, registry: Registry, minor: Minor, git_version: str) -> bytes:
        document = self.v2_json(registry, minor, git_version)
        with self._lock:
            found = self._protobuf.get(document)
            if found is None:
                found = encode_document(json.loads(document))
                self._protobuf = {document: found}
            return found

    def v3_index(self, registry: Registry, minor: Minor, git_version: str) -> Doc:
        documents = self._built(registry, minor, git_version)[1]
        return {
            "paths": {
                path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={_hash(data)}"}
                for path, data in documents.items()
            }
        }

    def v3_document(
        self, registry: Registry, minor: Minor, git_version: str, path: str
    ) -> bytes | None:
        return self._built(registry, minor, git_version)[1].get(path)


def _hash(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()[:128].upper()


def accepts_protobuf_v2(accept: str) -> str | None:
    """The media type to answer ``/openapi/v2`` with for ``accept``, as kube-openapi
    negotiates it (JSON or protobuf; ``None`` is 406 Not Acceptable)."""
    clauses = []
    for i, raw in enumerate((accept or "*/*").split(",")):
        parts = [p.strip() for p in raw.split(";")]
        media = parts[0].lower()
        q = 1.0
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media and q > 0:
            clauses.append((-q, i, media))
    for _, _, media in sorted(clauses):
        major, _, minor = media.partition("/")
        for kind, answer in (
            ("json", "application/json"),
            (PROTOBUF_V2.split("/")[1], PROTOBUF_V2_RETURNED),
        ):
            if major in {"application", "*"} and minor in {kind, "*"}:
                return answer
    return None

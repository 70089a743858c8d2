"""The OpenAPI v2 document as gnostic's ``openapi.v2.Document`` protobuf, the only form
client-go (and so kubectl) reads ``/openapi/v2`` in.

A hand-written encoder for the messages the JSON document uses; field numbers are those
of gnostic's ``openapiv2/OpenAPIv2.proto``. Vendor extensions are ``Any`` values holding
YAML (JSON is valid YAML).
"""

from __future__ import annotations

import json
import struct
from typing import Any

Doc = dict[str, Any]


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _message(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


def _string(number: int, value: Any) -> bytes:
    if value is None or value == "":
        return b""
    return _message(number, str(value).encode())


def _strings(number: int, values: Any) -> bytes:
    return b"".join(_message(number, str(v).encode()) for v in values or [])


def _bool(number: int, value: Any) -> bytes:
    return _key(number, 0) + b"\x01" if value else b""


def _double(number: int, value: Any) -> bytes:
    return b"" if value is None else _key(number, 1) + struct.pack("<d", float(value))


def _int64(number: int, value: Any) -> bytes:
    return b"" if value is None else _key(number, 0) + _varint(int(value))


def _any(value: Any) -> bytes:
    """``Any{yaml}``."""
    return _string(2, json.dumps(value))


def _extensions(number: int, doc: Doc) -> bytes:
    """``repeated NamedAny`` for the ``x-`` keys of ``doc``."""
    return b"".join(
        _message(number, _string(1, key) + _message(2, _any(value)))
        for key, value in doc.items()
        if key.startswith("x-")
    )


def schema(doc: Doc) -> bytes:
    """``Schema``."""
    parts = [
        _string(1, doc.get("$ref")),
        _string(2, doc.get("format")),
        _string(3, doc.get("title")),
        _string(4, doc.get("description")),
    ]
    if "default" in doc:
        parts.append(_message(5, _any(doc["default"])))
    parts.append(_double(7, doc.get("maximum")))
    parts.append(_double(9, doc.get("minimum")))
    parts.append(_int64(11, doc.get("maxLength")))
    parts.append(_int64(12, doc.get("minLength")))
    parts.append(_string(13, doc.get("pattern")))
    parts.append(_strings(19, doc.get("required")))
    parts.extend(_message(20, _any(v)) for v in doc.get("enum") or [])
    extra = doc.get("additionalProperties")
    if isinstance(extra, dict):
        parts.append(_message(21, _message(1, schema(extra))))
    elif isinstance(extra, bool):
        parts.append(_message(21, _key(2, 0) + (b"\x01" if extra else b"\x00")))
    if "type" in doc:
        types = doc["type"] if isinstance(doc["type"], list) else [doc["type"]]
        parts.append(_message(22, _strings(1, types)))
    if "items" in doc:
        parts.append(_message(23, _message(1, schema(doc["items"]))))
    parts.extend(_message(24, schema(s)) for s in doc.get("allOf") or [])
    if "properties" in doc:
        props = b"".join(
            _message(1, _string(1, name) + _message(2, schema(value)))
            for name, value in doc["properties"].items()
        )
        parts.append(_message(25, props))
    parts.append(_extensions(31, doc))
    return b"".join(parts)


def _parameter(doc: Doc) -> bytes:
    """``ParametersItem``: a body parameter or a query/path sub-schema."""
    if "$ref" in doc:
        return _message(2, _string(1, doc["$ref"]))
    where = doc.get("in")
    if where == "body":
        body = (
            _string(1, doc.get("description"))
            + _string(2, doc.get("name"))
            + _string(3, where)
            + _bool(4, doc.get("required"))
            + _message(5, schema(doc.get("schema") or {}))
        )
        return _message(1, _message(1, body))
    head = _bool(1, doc.get("required")) + _string(2, where) + _string(3, doc.get("description"))
    head += _string(4, doc.get("name"))
    if where == "query":
        sub = head + _string(6, doc.get("type"))
        sub += _string(7, doc.get("format")) + _extensions(23, doc)
        which = 3
    else:  # path (and header parameters, which the document does not use)
        sub = head + _string(5, doc.get("type")) + _string(6, doc.get("format"))
        sub += _extensions(22, doc)
        which = 4
    return _message(1, _message(2, _message(which, sub)))


def _operation(doc: Doc) -> bytes:
    parts = [
        _strings(1, doc.get("tags")),
        _string(2, doc.get("summary")),
        _string(3, doc.get("description")),
        _string(5, doc.get("operationId")),
        _strings(6, doc.get("produces")),
        _strings(7, doc.get("consumes")),
    ]
    parts.extend(_message(8, _parameter(p)) for p in doc.get("parameters") or [])
    responses = b""
    for code, response in (doc.get("responses") or {}).items():
        body = _string(1, response.get("description"))
        if "schema" in response:
            body += _message(2, _message(1, schema(response["schema"])))
        responses += _message(1, _string(1, code) + _message(2, _message(1, body)))
    parts.append(_message(9, responses))
    parts.append(_strings(10, doc.get("schemes")))
    parts.append(_extensions(13, doc))
    return b"".join(parts)


_VERBS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _path_item(doc: Doc) -> bytes:
    parts = [_message(_VERBS[verb], _operation(doc[verb])) for verb in _VERBS if verb in doc]
    parts.extend(_message(9, _parameter(p)) for p in doc.get("parameters") or [])
    parts.append(_extensions(10, doc))
    return b"".join(parts)


def encode_document(doc: Doc) -> bytes:
    """``Document`` for a Swagger 2.0 JSON document."""
    info = doc.get("info") or {}
    parts = [
        _string(1, doc.get("swagger")),
        _message(2, _string(1, info.get("title")) + _string(2, info.get("version"))),
        _string(3, doc.get("host")),
        _string(4, doc.get("basePath")),
        _strings(5, doc.get("schemes")),
        _strings(6, doc.get("consumes")),
        _strings(7, doc.get("produces")),
    ]
    paths = b"".join(
        _message(2, _string(1, name) + _message(2, _path_item(item)))
        for name, item in (doc.get("paths") or {}).items()
    )
    parts.append(_message(8, paths))
    definitions = b"".join(
        _message(1, _string(1, name) + _message(2, schema(value)))
        for name, value in (doc.get("definitions") or {}).items()
    )
    parts.append(_message(9, definitions))
    for requirement in doc.get("security") or []:
        named = b"".join(
            _message(1, _string(1, name) + _message(2, _strings(1, scopes)))
            for name, scopes in requirement.items()
        )
        parts.append(_message(12, named))
    security = b""
    for name, item in (doc.get("securityDefinitions") or {}).items():
        api_key = (
            _string(1, item.get("type"))
            + _string(2, item.get("name"))
            + _string(3, item.get("in"))
            + _string(4, item.get("description"))
        )
        security += _message(1, _string(1, name) + _message(2, _message(2, api_key)))
    if security:
        parts.append(_message(13, security))
    parts.append(_extensions(16, doc))
    return b"".join(parts)

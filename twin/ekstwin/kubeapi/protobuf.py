"""Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``), for the
few kinds client-go's typed clients POST that way here: the ``authorization.k8s.io``
reviews (``kubectl auth can-i``) and evictions (``kubectl drain``).

The envelope is ``k8s\\x00`` then a ``runtime.Unknown`` holding the type and the message;
field numbers are those of the API's ``generated.proto`` files.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from ekstwin.kubeapi.errors import BadRequest, UnsupportedMediaType

MAGIC = b"k8s\x00"
Fields = dict[int, list[Any]]


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data):
            raise ValueError("truncated varint")
        byte = data[i]
        i += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(data: bytes) -> Fields:
    """Decode one message into ``{field number: [raw values]}`` (bytes or ints)."""
    out: Fields = {}
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 1:
            value, i = struct.unpack_from("<q", data, i)[0], i + 8
        elif wire == 2:
            length, i = _varint(data, i)
            if i + length > len(data):
                raise ValueError("truncated field")
            value, i = data[i : i + length], i + length
        elif wire == 5:
            value, i = struct.unpack_from("<i", data, i)[0], i + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _text(found: Fields, number: int) -> str | None:
    values = found.get(number)
    return values[-1].decode() if values else None


def _strings(found: Fields, number: int) -> list[str]:
    return [v.decode() for v in found.get(number, [])]


def _message(found: Fields, number: int) -> Fields | None:
    values = found.get(number)
    return fields(values[-1]) if values else None


def _object_meta(found: Fields | None) -> dict[str, Any]:
    if found is None:
        return {}
    out = {
        name: _text(found, n) for n, name in ((1, "name"), (2, "generateName"), (3, "namespace"))
    }
    return {k: v for k, v in out.items() if v is not None}


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, [], {})}


def _review_spec(found: Fields | None) -> dict[str, Any]:
    if found is None:
        return {}
    spec: dict[str, Any] = {}
    resource = _message(found, 1)
    if resource is not None:
        names = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
        spec["resourceAttributes"] = _compact(
            {name: _text(resource, i + 1) for i, name in enumerate(names)}
        )
    non_resource = _message(found, 2)
    if non_resource is not None:
        spec["nonResourceAttributes"] = _compact(
            {"path": _text(non_resource, 1), "verb": _text(non_resource, 2)}
        )
    return spec


def _access_review(found: Fields) -> dict[str, Any]:
    return {"metadata": _object_meta(_message(found, 1)), "spec": _review_spec(_message(found, 2))}


def _rules_review(found: Fields) -> dict[str, Any]:
    spec = _message(found, 2)
    namespace = _text(spec, 1) if spec is not None else None
    return {
        "metadata": _object_meta(_message(found, 1)),
        "spec": _compact({"namespace": namespace}),
    }


def _eviction(found: Fields) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": _object_meta(_message(found, 1))}
    options = _message(found, 2)
    if options is not None:
        grace = options.get(1)
        body["deleteOptions"] = _compact(
            {
                "gracePeriodSeconds": grace[-1] if grace else None,
                "propagationPolicy": _text(options, 4),
                "dryRun": _strings(options, 5),
            }
        )
    return body


_KINDS: dict[str, Callable[[Fields], dict[str, Any]]] = {
    "SelfSubjectAccessReview": _access_review,
    "SelfSubjectRulesReview": _rules_review,
    "Eviction": _eviction,
}


def decode_body(raw: bytes) -> dict[str, Any]:
    """The JSON form of a protobuf body; 415 for kinds this server cannot read as protobuf."""
    if not raw.startswith(MAGIC):
        raise BadRequest(
            "provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]"
        )
    try:
        unknown = fields(raw[len(MAGIC) :])
        type_meta = _message(unknown, 1) or {}
        api_version, kind = _text(type_meta, 1) or "", _text(type_meta, 2) or ""
        payload = (unknown.get(2) or [b""])[-1]
        decoder = _KINDS.get(kind)
        if decoder is None:
            raise UnsupportedMediaType(
                f"the sandbox API server reads {kind or 'this kind'} only as application/json "
                "or application/yaml"
            )
        body = decoder(fields(payload))
    except (ValueError, UnicodeDecodeError, struct.error) as exc:
        raise BadRequest(f"unable to decode the protobuf body: {exc}") from exc
    return {"apiVersion": api_version, "kind": kind, **body}

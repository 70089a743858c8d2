"""Request bodies and write options: media types, ``dryRun``, ``fieldManager``,
``fieldValidation`` and ``force``, checked as the apiserver checks them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from ekstwin.kubeapi import protobuf
from ekstwin.kubeapi.errors import BadRequest, UnsupportedMediaType
from ekstwin.kubeapi.fielderrors import (
    FieldError,
    GoValue,
    forbidden,
    go_value,
    invalid,
    invalid_error,
    not_supported,
    required,
)
from ekstwin.kubeapi.resources import Minor

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_MEDIA = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    APPLY_PATCH: "apply",
}
DRY_RUN_BETA: Minor = (1, 13)  # alpha (off) in 1.12, beta on by default in 1.13, GA 1.18
FIELD_MANAGER_SINCE: Minor = (1, 14)
SSA_SINCE: Minor = (1, 16)  # alpha (off) in 1.14, beta on by default in 1.16, GA 1.22
FIELD_VALIDATION_SINCE: Minor = (1, 25)  # beta on by default in 1.25, GA 1.27
_FIELD_VALIDATION = ["Ignore", "Strict", "Warn"]
_MANAGER_LIMIT = 128


class _JsonYamlLoader(yaml.SafeLoader):
    """YAML as JSON sees it: timestamps stay strings."""


_JsonYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def parse_body(raw: bytes, content_type: str | None) -> dict[str, Any]:
    """A create/update body (JSON or YAML) as an object; 400 or 415 like the apiserver."""
    media = media_type(content_type) or JSON
    if media in {JSON, "*/*"}:
        value = parse_json(raw)
    elif media in {YAML, "application/x-yaml", "text/yaml"}:
        value = parse_yaml(raw)
    elif media == PROTOBUF:
        value = protobuf.decode_body(raw)
    else:
        raise UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types "
            f"include: {JSON}, {YAML}, {PROTOBUF}"
        )
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BadRequest(
            "couldn't get version/kind; json parse error: json: cannot unmarshal "
            f"{_json_kind(value)} into Go value of type struct "
            '{ APIVersion string "json:\\"apiVersion,omitempty\\""; '
            'Kind string "json:\\"kind,omitempty\\"" }'
        )
    return value


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"couldn't get version/kind; json parse error: {exc}") from exc


def parse_yaml(raw: bytes) -> Any:
    try:
        return yaml.load(raw or b"", Loader=_JsonYamlLoader)
    except yaml.YAMLError as exc:
        raise BadRequest(f"error converting YAML to JSON: yaml: {exc}") from exc


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """What a create, update, patch or delete request asked for."""

    dry_run: bool = False
    manager: str = ""
    field_validation: str = "Ignore"
    force: bool = False


def user_agent_manager(user_agent: str) -> str:
    """The default field manager: the User-Agent up to its first ``/``."""
    return (user_agent.split("/", 1)[0] or "unknown")[:_MANAGER_LIMIT]


def write_options(
    kind: str,
    query: dict[str, list[str]],
    minor: Minor,
    *,
    user_agent: str = "",
    patch: str | None = None,
    body_dry_run: Any = None,
) -> WriteOptions:
    """Parse and check the options of a write (``kind``: CreateOptions, UpdateOptions,
    PatchOptions or DeleteOptions); 422 ``Invalid`` naming the option like the apiserver."""
    errors: list[FieldError] = []
    dry = list(query.get("dryRun", []))
    if isinstance(body_dry_run, list):
        dry.extend(str(v) for v in body_dry_run)
    if dry and minor < DRY_RUN_BETA:
        raise BadRequest("the dryRun alpha feature is disabled")
    if any(v != "All" for v in dry):
        errors.append(not_supported("dryRun", GoValue(go_value(dry)), ["All"]))
    manager = (query.get("fieldManager") or [""])[-1]
    if len(manager) > _MANAGER_LIMIT:
        errors.append(invalid("fieldManager", manager, "must be at most 128 characters"))
    validation = "Ignore"
    if minor >= FIELD_VALIDATION_SINCE:
        validation = (query.get("fieldValidation") or [""])[-1] or "Warn"
        if validation not in _FIELD_VALIDATION:
            errors.append(not_supported("fieldValidation", validation, _FIELD_VALIDATION))
    force_values = query.get("force")
    force = bool(force_values) and (force_values or [""])[-1] in {"true", "1", "True"}
    if patch is not None and minor >= SSA_SINCE:
        if patch != "apply" and force_values is not None:
            errors.append(forbidden("force", "may not be specified for non-apply patch"))
        if patch == "apply" and not manager:
            errors.append(required("fieldManager", "is required for apply patch"))
    if errors:
        raise invalid_error(kind, "meta.k8s.io", "", errors)
    if minor < FIELD_MANAGER_SINCE or not manager:
        manager = user_agent_manager(user_agent)
    return WriteOptions(bool(dry), manager, validation, force)


def patch_kind(content_type: str | None, minor: Minor, *, custom: bool) -> str:
    """The patch kind of a PATCH's Content-Type; 415 listing what the server accepts."""
    accepted = ["application/json-patch+json", "application/merge-patch+json"]
    if not custom:
        accepted.append("application/strategic-merge-patch+json")
    if minor >= SSA_SINCE:
        accepted.append(APPLY_PATCH)
    media = media_type(content_type)
    if media not in accepted:
        raise UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types "
            f"include: {', '.join(accepted)}"
        )
    return PATCH_MEDIA[media]

"""The apimachinery string validators (``k8s.io/apimachinery/pkg/util/validation``), with
their messages: DNS-1123 labels and subdomains, qualified names (label and annotation
keys), label values, ports and ConfigMap keys."""

from __future__ import annotations

import re

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = rf"{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*"
_QUALIFIED_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = rf"({_QUALIFIED_NAME})?"
_CONFIG_MAP_KEY = r"[-._a-zA-Z0-9]+"

_EMPTY_OR = "a valid label must be an empty string or consist of"
_ALNUM = "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric"
DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
    f"used for validation is '{_DNS1123_LABEL}')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
    f"for validation is '{_DNS1123_SUBDOMAIN}')"
)
QUALIFIED_NAME_MSG = (
    f"name part must consist of {_ALNUM} character (e.g. 'MyName',  or 'my.name',  or "
    f"'123-abc', regex used for validation is '{_QUALIFIED_NAME}')"
)
QUALIFIED_NAME_FORMAT_MSG = (
    f"a qualified name must consist of {_ALNUM} character (e.g. 'MyName',  or 'my.name',  or "
    f"'123-abc', regex used for validation is '{_QUALIFIED_NAME}') with an optional DNS "
    "subdomain prefix and '/' (e.g. 'example.com/MyName')"
)
LABEL_VALUE_MSG = (
    f"{_EMPTY_OR} {_ALNUM} character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    f"for validation is '{_LABEL_VALUE}')"
)
CONFIG_MAP_KEY_MSG = (
    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. "
    f"'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
    f"'{_CONFIG_MAP_KEY}')"
)
PORT_MSG = "must be between 1 and 65535, inclusive"


def _full(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"^{pattern}$")


_LABEL_RE = _full(_DNS1123_LABEL)
_SUBDOMAIN_RE = _full(_DNS1123_SUBDOMAIN)
_QUALIFIED_RE = _full(_QUALIFIED_NAME)
_VALUE_RE = _full(_LABEL_VALUE)
_KEY_RE = _full(_CONFIG_MAP_KEY)


def too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


def dns1123_label(value: str) -> list[str]:
    """``IsDNS1123Label``: the problems with ``value`` (empty when valid)."""
    problems = [too_long(63)] if len(value) > 63 else []
    if not _LABEL_RE.match(value):
        problems.append(DNS1123_LABEL_MSG)
    return problems


def dns1123_subdomain(value: str) -> list[str]:
    """``IsDNS1123Subdomain``."""
    problems = [too_long(253)] if len(value) > 253 else []
    if not _SUBDOMAIN_RE.match(value):
        problems.append(DNS1123_SUBDOMAIN_MSG)
    return problems


def qualified_name(value: str) -> list[str]:
    """``IsQualifiedName``: label and annotation keys (``[prefix/]name``)."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
        problems: list[str] = []
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            problems = ["prefix part must be non-empty"]
        else:
            problems = [f"prefix part {p}" for p in dns1123_subdomain(prefix)]
    else:
        return [QUALIFIED_NAME_FORMAT_MSG]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append(f"name part {too_long(63)}")
    if name and not _QUALIFIED_RE.match(name):
        problems.append(QUALIFIED_NAME_MSG)
    return problems


def label_value(value: str) -> list[str]:
    """``IsValidLabelValue``."""
    problems = [too_long(63)] if len(value) > 63 else []
    if not _VALUE_RE.match(value):
        problems.append(LABEL_VALUE_MSG)
    return problems


def config_map_key(value: str) -> list[str]:
    """``IsConfigMapKey``."""
    problems = [too_long(253)] if len(value) > 253 else []
    if not _KEY_RE.match(value):
        problems.append(CONFIG_MAP_KEY_MSG)
    if value in {".", ".."}:
        problems.append(f"must not be '{value}'")
    elif value.startswith(".."):
        problems.append("must not start with '..'")
    return problems


def port_number(value: int) -> list[str]:
    """``IsValidPortNum``."""
    return [] if 1 <= value <= 65535 else [PORT_MSG]

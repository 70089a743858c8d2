"""Keep secrets out of the runbook: it is committed for review and read by many people."""

from __future__ import annotations

import re
from collections.abc import Mapping

REDACTED = "(redacted)"
_SECRET_KEY = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE_?KEY", re.IGNORECASE)
# Values that look like credentials whatever their key: AWS access key IDs and PEM blocks.
_SECRET_VALUE = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----")


def is_secret(key: str, value: str) -> bool:
    """Whether ``key=value`` must not be printed."""
    return bool(_SECRET_KEY.search(key) or _SECRET_VALUE.search(value))


def shown(key: str, value: object) -> str:
    """The value as the runbook may print it."""
    text = str(value)
    return REDACTED if is_secret(key, text) else text


def safe_mapping(values: Mapping[str, object]) -> dict[str, str]:
    """A copy of ``values`` (sorted by key) with secret-looking values redacted."""
    return {key: shown(key, values[key]) for key in sorted(values)}


def scrub(text: str) -> str:
    """Free text with credential-looking substrings replaced."""
    return _SECRET_VALUE.sub(REDACTED, text)

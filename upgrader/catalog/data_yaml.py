"""The bundled YAML data, read with libyaml's loader when PyYAML has it (several times
faster than the pure-Python one; the same safe constructors)."""

from __future__ import annotations

from typing import Any

import yaml

LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load(text: str) -> Any:
    """One YAML document."""
    return yaml.load(text, Loader=LOADER)


def load_all(text: str) -> list[Any]:
    """Every YAML document of ``text``."""
    return list(yaml.load_all(text, Loader=LOADER))

"""Deterministic rendering of troposphere templates."""

from __future__ import annotations

import json

from troposphere import Template


def render(template: Template) -> str:
    """The template as JSON: sorted keys, two-space indent, trailing newline; byte-stable."""
    return json.dumps(template.to_dict(), sort_keys=True, indent=2) + "\n"

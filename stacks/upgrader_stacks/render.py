"""Deterministic rendering of troposphere templates."""

from __future__ import annotations

import json

from troposphere import Template

from upgrader.model.cfn_yaml import dump_template


def render(template: Template) -> str:
    """The template as JSON: sorted keys, two-space indent, trailing newline; byte-stable."""
    return json.dumps(template.to_dict(), sort_keys=True, indent=2) + "\n"


def render_yaml(template: Template) -> str:
    """The template as CloudFormation YAML, in troposphere's key order; byte-stable."""
    return dump_template(template.to_dict())

"""Render a plan as a Markdown runbook for change review (pure: reads nothing but the plan)."""

from upgrader.runbook.document import render

__all__ = ["render"]

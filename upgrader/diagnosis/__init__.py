"""``upgrader diagnose``: ipamd, ENIs and subnets of a live cluster, read-only (pure)."""

from upgrader.diagnosis.checks import diagnose
from upgrader.diagnosis.report import CODES, Diagnosis, Finding, Severity

__all__ = ["CODES", "Diagnosis", "Finding", "Severity", "diagnose"]

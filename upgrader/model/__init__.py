"""Frozen records of what discovery found (``state``) and what planning decided (``plan``).

Pure data shared by the adapters that fill it, the gates and planner that read
it, and the runbook that renders it; ``cfn_yaml`` turns CloudFormation template text
into such data and back.
"""

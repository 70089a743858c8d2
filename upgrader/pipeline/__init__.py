"""Use cases the CLI calls: one function per command, returning plain results."""

from upgrader.pipeline.apply import Status, apply, status
from upgrader.pipeline.capacity import (
    CapacityReport,
    CapacityRequest,
    default_cni_version,
    instance_capacity,
    refresh_instance_catalog,
)
from upgrader.pipeline.demo import DemoResult, demo
from upgrader.pipeline.diagnose import diagnose
from upgrader.pipeline.gates import list_gates
from upgrader.pipeline.plan import (
    ClusterCapacity,
    PlanResult,
    cluster_capacity,
    compile_config,
    plan,
    runbook,
)
from upgrader.pipeline.rollback import RollbackResult, rollback
from upgrader.pipeline.sandbox import sandbox_down, sandbox_up
from upgrader.pipeline.stacks import RenderedStack, render_stacks

__all__ = [
    "CapacityReport",
    "CapacityRequest",
    "ClusterCapacity",
    "DemoResult",
    "PlanResult",
    "RenderedStack",
    "RollbackResult",
    "Status",
    "apply",
    "cluster_capacity",
    "compile_config",
    "default_cni_version",
    "demo",
    "diagnose",
    "instance_capacity",
    "list_gates",
    "plan",
    "refresh_instance_catalog",
    "render_stacks",
    "rollback",
    "runbook",
    "sandbox_down",
    "sandbox_up",
    "status",
]

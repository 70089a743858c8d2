"""``upgrader rollback``: the control plane back one minor, where a plan's control-plane
step left it, while EKS's rollback window is open and every node is still at N-1.

Every check runs before the lock and before any write; a refusal (exit 3) lists every
reason at once and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from upgrader.adapters import aws_state
from upgrader.adapters.aws_actions import AwsActions
from upgrader.adapters.discover import discover
from upgrader.adapters.kube_actions import KubeActions
from upgrader.executor.errors import RollbackRefusedError
from upgrader.executor.progress import Sink
from upgrader.executor.rollback import run_rollback
from upgrader.executor.run import Outside, config_from_plan, load_plan, new_holder
from upgrader.model.plan import Plan
from upgrader.model.steps import ControlPlaneStep
from upgrader.planner.rollback import decide


@dataclass(frozen=True, slots=True)
class RollbackResult:
    cluster: str
    from_: str
    to: str


def rollback(
    plan_path: Path,
    *,
    sink: Sink,
    confirm: Callable[[Plan, ControlPlaneStep], None] | None = None,
) -> RollbackResult:
    """Roll the control plane back over the plan's last control-plane step it ran;
    ``confirm`` is asked once every check passed, before the lock (it raises to stop)."""
    text, plan = load_plan(plan_path)
    config = config_from_plan(plan)
    aws = AwsActions.connect(plan.region)
    aws_state.eks_cluster(aws.aws, plan.cluster)  # another cluster or region: exit 2, fast
    kube = KubeActions.connect(config, aws)
    try:
        state = discover(config)
        decision = decide(plan, state, aws.cluster_updates(plan.cluster), datetime.now(UTC))
        if decision.step is None:
            raise RollbackRefusedError(
                f"rollback of {plan.cluster}",
                "refused:\n    - " + "\n    - ".join(decision.refusals),
                "nothing was changed; fix what is named, or fix forward",
            )
        if confirm is not None:
            confirm(plan, decision.step)
    except BaseException:
        kube.close()
        raise
    step = decision.step
    run_rollback(
        text, plan, config, step, Outside(aws=aws, kube=kube), sink=sink, holder=new_holder()
    )
    return RollbackResult(plan.cluster, step.from_, step.to)

"""How long the parts of a node-group wave take: the one timing model the twin simulates
and the benchmarks measure against.

A wave cannot be shorter than a new node's boot to Ready (its aws-node pod started), one
eviction round (the replacement of an evicted pod starting elsewhere: a budget frees once
it is Ready), the last evicted pods' stop and the old node's termination; a
PodDisruptionBudget that allows fewer disruptions than the wave's pods of its workload
serialises evictions into more rounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

NODE_BOOT_SECONDS = 60.0  # EC2 launch to a Ready kubelet
POD_START_SECONDS = 3.0  # a scheduled pod to Running
POD_STOP_SECONDS = 2.0  # a deleted pod to gone
SHUTTING_DOWN_SECONDS = 20.0  # EC2 shutting-down to terminated (typically under a minute)


@dataclass(frozen=True, slots=True, kw_only=True)
class TimingModel:
    """The durations of a wave's parts, in seconds."""

    node_boot: float = NODE_BOOT_SECONDS
    pod_start: float = POD_START_SECONDS
    pod_stop: float = POD_STOP_SECONDS
    termination: float = SHUTTING_DOWN_SECONDS

    def eviction_rounds(self, pods: int, allowed: int) -> int:
        """Rounds of evictions for ``pods`` of one workload whose budget allows
        ``allowed`` disruptions at a time (at least one round when there are pods)."""
        if pods <= 0:
            return 0
        return max(1, math.ceil(pods / max(allowed, 1)))

    def wave_seconds(self, rounds: int = 1) -> float:
        """The shortest a wave can take: its new nodes' boot and aws-node start, ``rounds``
        replacements started, the last evicted pods' stop, the old nodes' termination."""
        return (
            self.node_boot
            + self.pod_start
            + max(rounds, 1) * self.pod_start
            + self.pod_stop
            + self.termination
        )

    def roll_seconds(self, waves: int, rounds: int) -> float:
        """The shortest roll of ``waves`` waves, each wave one after another: a wave
        waits for its new nodes (boot, then aws-node's pod start: the node is Ready once
        its CNI is), each eviction round only for the replacement to start (a budget
        frees when it is Ready; the evicted pod stops meanwhile), the last pods to stop,
        and every wave but the last for its old nodes' termination (the next wave is
        sized on the addresses they give back)."""
        if waves <= 0:
            return 0.0
        return (
            waves * (self.node_boot + self.pod_start)
            + (waves - 1) * self.termination
            + max(rounds, waves) * self.pod_start
            + self.pod_stop
        )


MODEL = TimingModel()

"""The apply journal: which steps of which plan are done, and what to restore.

It lives in the cluster (a ConfigMap, see the adapter), so a re-run from a
fresh CI machine finds it. Pure data and JSON here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

JOURNAL_NAME = "upgrader-journal"
LOCK_NAME = "upgrader-lock"
NAMESPACE = "kube-system"


def plan_id(plan_text: str) -> str:
    """Identity of a plan file's content."""
    return "sha256:" + hashlib.sha256(plan_text.encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class AsgSnapshot:
    """An Auto Scaling group as it was before apply touched it."""

    name: str
    min_size: int
    max_size: int
    desired: int
    suspended: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Journal:
    plan: str  # plan_id of the plan being applied
    fingerprint: str  # the plan's fingerprint, checked once, when the journal starts
    done: tuple[str, ...] = ()  # step IDs finished, in order
    current: str | None = None  # the step started and not yet finished
    complete: bool = False
    asgs: tuple[AsgSnapshot, ...] = ()
    autoscaler_replicas: int | None = None  # cluster-autoscaler replicas to restore
    terminated: tuple[str, ...] = ()  # instance IDs apply terminated (never twice)
    cordoned: tuple[str, ...] = ()  # nodes the current wave cordoned, none terminated yet
    # (node, aws-node pod) before the current CNI step applied its manifest: a resumed step
    # gates every node whose pod changed since, including those restarted before a stop
    rollout_before: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = field(default=())
    # control-plane steps `upgrader rollback` undid: the plan no longer describes the cluster
    rolled_back: tuple[str, ...] = ()

    def is_done(self, step_id: str) -> bool:
        return step_id in self.done

    def start(self, step_id: str) -> Journal:
        return replace(self, current=step_id)

    def finish(self, step_id: str) -> Journal:
        done = self.done if self.is_done(step_id) else (*self.done, step_id)
        return replace(self, done=done, current=None, rollout_before=())

    def snapshot(self, asg: AsgSnapshot) -> Journal:
        """Remember an ASG's sizes the first time only: a resumed run restores the originals."""
        if any(a.name == asg.name for a in self.asgs):
            return self
        return replace(self, asgs=(*self.asgs, asg))

    def asg(self, name: str) -> AsgSnapshot | None:
        return next((a for a in self.asgs if a.name == name), None)

    def terminate(self, instance_id: str) -> Journal:
        return replace(self, terminated=(*self.terminated, instance_id))

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "plan": self.plan,
            "fingerprint": self.fingerprint,
            "done": list(self.done),
            "current": self.current,
            "complete": self.complete,
            "asgs": [
                {
                    "name": a.name,
                    "min_size": a.min_size,
                    "max_size": a.max_size,
                    "desired": a.desired,
                    "suspended": list(a.suspended),
                }
                for a in self.asgs
            ],
            "autoscaler_replicas": self.autoscaler_replicas,
            "terminated": list(self.terminated),
            "cordoned": list(self.cordoned),
            "rollout_before": [list(pair) for pair in self.rollout_before],
            "notes": list(self.notes),
            "rolled_back": list(self.rolled_back),
        }
        return json.dumps(doc, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Journal:
        doc = json.loads(text)
        return cls(
            plan=doc["plan"],
            fingerprint=doc["fingerprint"],
            done=tuple(doc.get("done", ())),
            current=doc.get("current"),
            complete=bool(doc.get("complete", False)),
            asgs=tuple(
                AsgSnapshot(
                    name=a["name"],
                    min_size=a["min_size"],
                    max_size=a["max_size"],
                    desired=a["desired"],
                    suspended=tuple(a.get("suspended", ())),
                )
                for a in doc.get("asgs", ())
            ),
            autoscaler_replicas=doc.get("autoscaler_replicas"),
            terminated=tuple(doc.get("terminated", ())),
            cordoned=tuple(doc.get("cordoned", ())),
            rollout_before=tuple((str(n), str(p)) for n, p in doc.get("rollout_before", ())),
            notes=tuple(doc.get("notes", ())),
            rolled_back=tuple(doc.get("rolled_back", ())),
        )

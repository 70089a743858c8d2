"""Which instance types the ipamd of each VPC CNI release knows.

Before v1.6.0, ipamd knows only the instance types compiled into its limits table
(``pkg/awsutils/vpc_ip_resource_limit.go``). On any other type it cannot size its pool:
the node keeps the addresses of its first ENI and pods past them stay ContainerCreating.
From v1.6.0 ipamd looks a type missing from its table up through EC2
DescribeInstanceTypes (behaviour ``unknown_instance_type_falls_back_to_ec2``).

``data/ipamd_instance_types.tsv`` lists every type compiled into a release before that
one: ``instance_type``, ``first_release`` (the first tag whose table lists it) and
``last_release`` (empty unless a later table dropped it). It is generated from the
per-tag tables in ``../shared/upstream/vpc-cni-limits/`` by
``python -m upgrader.catalog.upstream_limits``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from upgrader.catalog.cni import features
from upgrader.catalog.versions import catalog
from upgrader.semver import Version

TABLE = "ipamd_instance_types.tsv"
TABLE_FIELDS = ("instance_type", "first_release", "last_release")
FALLBACK_FEATURE = "unknown_instance_type_falls_back_to_ec2"


@dataclass(frozen=True, slots=True)
class CompiledIn:
    """The releases whose compiled table lists a type: ``first`` to ``last`` (None: to
    the last release before the EC2 fallback)."""

    first: Version
    last: Version | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class IpamdGap:
    """Release ``release`` does not know ``instance_type``; ``first_knowing`` is the first
    later release that does, ``usable`` the first of those upgrader may apply."""

    instance_type: str
    release: Version
    first_knowing: Version
    usable: Version | None
    fallback_since: Version

    @property
    def problem(self) -> str:
        """What goes wrong, in words."""
        return (
            f"ipamd of VPC CNI {self.release.tag} does not know {self.instance_type} (before "
            f"{self.fallback_since.tag} it knows only the types compiled into it), so such a "
            "node cannot grow its address pool past its first ENI and its pods stay "
            "ContainerCreating"
        )

    @property
    def fixed_by(self) -> str:
        """The release that fixes it, e.g. ``v1.5.4 is the first release that knows it``."""
        text = f"{self.first_knowing.tag} is the first release that knows it"
        if self.usable is None:
            return text + ", and upgrader knows no release from there that it may apply"
        if self.usable != self.first_knowing:
            first = self.first_knowing.tag
            why = (
                f"upgrader never applies {first} (banned, see VER002)"
                if catalog().is_banned(self.first_knowing)
                else f"{first} is not a release upgrader applies"
            )
            return f"{text}; {why}, so use {self.usable.tag}"
        return text


@dataclass(frozen=True, slots=True)
class IpamdTypes:
    """The compiled tables of the releases before ``fallback_since``, by instance type."""

    compiled: Mapping[str, CompiledIn]
    fallback_since: Version

    def knows(self, release: Version, instance_type: str) -> bool:
        """Whether ipamd of ``release`` can size the pool of an ``instance_type`` node."""
        if release >= self.fallback_since:
            return True
        span = self.compiled.get(instance_type)
        if span is None:
            return False
        return span.first <= release and (span.last is None or release <= span.last)

    def known_by(self, release: Version) -> frozenset[str] | None:
        """The types ipamd of ``release`` knows; None from the EC2 fallback on (all)."""
        if release >= self.fallback_since:
            return None
        return frozenset(t for t in self.compiled if self.knows(release, t))

    def first_knowing(self, release: Version, instance_type: str) -> Version | None:
        """The first release after ``release`` that knows ``instance_type``; None when
        ``release`` knows it."""
        if self.knows(release, instance_type):
            return None
        span = self.compiled.get(instance_type)
        if span is not None and release < span.first:
            return span.first
        return self.fallback_since

    def gap(self, release: Version, instance_type: str) -> IpamdGap | None:
        """Why ``release`` cannot run ``instance_type`` nodes and what fixes it; None if it can."""
        first = self.first_knowing(release, instance_type)
        if first is None:
            return None
        cat = catalog()
        usable = next(
            (
                r
                for r in cat.cni_releases()
                if r >= first and self.knows(r, instance_type) and cat.is_banned(r) is None
            ),
            None,
        )
        return IpamdGap(
            instance_type=instance_type,
            release=release,
            first_knowing=first,
            usable=usable,
            fallback_since=self.fallback_since,
        )


def to_tsv(compiled: Mapping[str, CompiledIn]) -> str:
    """The bundled table's text, sorted by type."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(TABLE_FIELDS)
    for name in sorted(compiled):
        span = compiled[name]
        writer.writerow([name, span.first.tag, span.last.tag if span.last else ""])
    return out.getvalue()


def from_tsv(text: str) -> dict[str, CompiledIn]:
    """Parse :func:`to_tsv`'s text."""
    rows = csv.DictReader(io.StringIO(text), delimiter="\t")
    return {
        r["instance_type"]: CompiledIn(
            Version.parse(r["first_release"]),
            Version.parse(r["last_release"]) if r["last_release"] else None,
        )
        for r in rows
    }


def fallback_since() -> Version:
    """The first release whose ipamd looks unknown types up through EC2 (v1.6.0)."""
    return features()[FALLBACK_FEATURE].since


@cache
def ipamd_types() -> IpamdTypes:
    """The bundled table."""
    text = resources.files("upgrader.catalog").joinpath(f"data/{TABLE}").read_text()
    return IpamdTypes(from_tsv(text), fallback_since())

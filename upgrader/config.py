"""The config file (DESIGN §4, contract keys): loaded, validated against a schema, frozen.

The schema is a set of strict pydantic models (unknown keys forbidden, no type coercion).
Every problem is collected and reported at once, as a bad-input error (exit 2) naming
the key, the value read and the fix, before any call to AWS or Kubernetes.
"""

from __future__ import annotations

import bisect
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from upgrader import textfile
from upgrader.catalog.versions import CNI_DATA, catalog
from upgrader.errors import ConfigError, VersionError
from upgrader.semver import Version

GATE_DEFAULTS: dict[str, int] = {
    "subnet_reserve_ips": 8,  # CAP001: free addresses every subnet keeps at a wave's peak
    "control_plane_min_free_ips": 5,  # CAP002: per subnet, in at least two AZs
    "control_plane_min_azs": 2,
    "stuck_pod_seconds": 300,  # POD001: ContainerCreating longer than this is stuck
    # apply's CNI step: how long a node's pods may stay ContainerCreating after its
    # aws-node restarted before the #59 remediation (then the stop) kicks in
    "cni_restart_grace_seconds": 60,
    # apply's node roll: at most this many nodes per wave (0: as many as capacity allows)
    "max_wave_nodes": 0,
}
# EKS version rollback (RollbackConfig.timeoutMinutes): how long EKS may take to roll the
# control plane back before it cancels; EKS's own default, and the range it accepts.
ROLLBACK_TIMEOUT_DEFAULT = 720
ROLLBACK_TIMEOUT_RANGE = (120, 10080)
# Self-managed add-ons the plan may move to EKS managed ones (``addons.adopt``).
ADOPTABLE_ADDONS = ("vpc-cni", "kube-proxy", "coredns")
# Thresholds that would switch their gate off below this (CAP002 with 0 AZs or 0 addresses).
GATE_MINIMUMS: dict[str, int] = {"control_plane_min_free_ips": 1, "control_plane_min_azs": 1}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")  # EKS cluster and CloudFormation stack
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HINT = "fix the keys listed (DESIGN §4 lists every key)"
_SECRET_PATHS = ("cni", "env")  # values under cni.env are never echoed back


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: Path
    cluster: str
    region: str
    control_plane_stack: str
    nodegroup_stacks: tuple[str, ...]
    target_kubernetes: Version
    target_cni: Version | None
    cni_env: tuple[tuple[str, str], ...] = ()
    manifests: Path | None = None
    kubeconfig: Path | None = None
    gates: tuple[tuple[str, int], ...] = field(default=tuple(sorted(GATE_DEFAULTS.items())))
    rollback_timeout_minutes: int = ROLLBACK_TIMEOUT_DEFAULT
    adopt_addons: tuple[str, ...] = ()  # self-managed add-ons to create as EKS managed ones
    # apply only: the env the plan's vpc-cni adoption carries (None: ``cni_env``, the user's)
    adopt_env: tuple[tuple[str, str], ...] | None = None

    def gate(self, name: str) -> int:
        return dict(self.gates)[name]


def load(path: Path, *, target: str | None = None) -> Config:
    """Read and validate ``path``; ``target`` (``--to``) overrides ``target.kubernetes``."""
    raw = textfile.load_yaml(
        path,
        what="config file",
        hint="pass the path of your upgrader.yaml with -c",
        error=ConfigError,
    )
    return parse(raw, path, target=target)


def parse(raw: Any, path: Path, *, target: str | None = None) -> Config:
    """Validate a loaded config; every problem is listed in one error."""
    if raw is None:
        raise ConfigError(str(path), "is empty", "write the keys of DESIGN §4 into it")
    if not isinstance(raw, dict):
        raise ConfigError(
            str(path),
            f"is a YAML {type(raw).__name__}, not a mapping of keys",
            "see DESIGN §4 for the keys",
        )
    problems: list[str] = []
    override = None
    if target is not None:
        try:
            override = _kubernetes(target)
        except PydanticCustomError as err:
            problems.append(f"target.kubernetes (--to): {err.message()}")
    try:
        doc = _Document.model_validate(raw, context={"base": path.parent})
    except ValidationError as err:
        problems += [_describe(e) for e in err.errors(include_url=False)]
        doc = None
    if doc is not None and doc.target.kubernetes is None and target is None:
        problems.append("target.kubernetes: is missing (or pass --to)")
    if problems or doc is None:
        raise ConfigError(str(path), "has problems:\n    " + "\n    ".join(problems), _HINT)
    return Config(
        path=path,
        cluster=doc.cluster,
        region=doc.region,
        control_plane_stack=doc.stacks.control_plane,
        nodegroup_stacks=tuple(doc.stacks.nodegroups),
        target_kubernetes=Version.parse(override or doc.target.kubernetes or ""),
        target_cni=Version.parse(doc.target.cni) if doc.target.cni else None,
        cni_env=tuple(sorted(doc.cni.env.items())),
        manifests=doc.manifests,
        kubeconfig=doc.kubeconfig,
        gates=tuple(sorted({**GATE_DEFAULTS, **doc.gates.model_dump(exclude_none=True)}.items())),
        rollback_timeout_minutes=doc.rollback.timeout_minutes,
        adopt_addons=tuple(doc.addons.adopt),
    )


# Field checks: each raises PydanticCustomError("upgrader", message) with the value read.


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("upgrader", message)


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise _fail(f"{value!r} is not {what}")
        return value

    return check


def _numbers(meant: Callable[[str], str]) -> BeforeValidator:
    """A version must be written as a string: YAML reads ``1.20`` as the number 1.2."""

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return value
        read = repr(value)
        raise _fail(f'read as {read} (a YAML number); quote it: "{meant(read)}"')

    return BeforeValidator(check)


def _meant_minor(read: str) -> str:
    known = {v.minor_str for v in catalog().kubernetes_versions()}
    return next((text for text in (read + "0", read) if text in known), read)


def _meant_tag(read: str) -> str:
    return f"v{read}" if read.count(".") == 2 else f"v{read}.0"


def _kubernetes(value: str) -> str:
    """A Kubernetes minor the catalog knows, as ``1.13``."""
    known = catalog().kubernetes_versions()
    try:
        wanted = Version.parse(value)
    except VersionError:
        raise _fail(f'{value!r} is not a version; write it like "1.13"') from None
    if any(v.minor_key == wanted.minor_key for v in known):
        return wanted.minor_str
    first, last = known[0], known[-1]
    where = (
        f"it is older than {first.minor_str}, the oldest minor upgrader can upgrade from, "
        "and a control plane is never downgraded"
        if wanted < first
        else f"the catalog knows {first.minor_str} to {last.minor_str}"
    )
    nearest = ", ".join(v.minor_str for v in _neighbours(known, wanted))
    raise _fail(
        f"{value!r} is not a Kubernetes version upgrader knows ({where}); nearest: {nearest}"
    )


def _cni(value: str) -> str:
    """A VPC CNI release the catalog confirms and that may be applied."""
    try:
        wanted = Version.parse(value)
    except VersionError:
        raise _fail(f"{value!r} is not a version; write it like v1.5.5") from None
    known = catalog().cni_releases()
    if wanted not in known:
        nearest = ", ".join(v.tag for v in _neighbours(known, wanted))
        read = "" if value == wanted.tag else f" (read {value!r})"
        raise _fail(
            f"{wanted.tag}{read} is not a VPC CNI release upgrader knows (the catalog knows "
            f"{known[0].tag} to {known[-1].tag}); nearest: {nearest}; if it is a real release, "
            f"add it with its source to {CNI_DATA}"
        )
    banned = catalog().is_banned(wanted)
    if banned is not None:
        raise _fail(f"{value!r} must never be applied: {banned}")
    return wanted.tag


def _neighbours(known: tuple[Version, ...], wanted: Version) -> tuple[Version, ...]:
    """The known versions just below and just above ``wanted`` (sorted ``known``)."""
    at = bisect.bisect_left(known, wanted)
    return known[max(at - 1, 0) : at + 1]


def _existing_file(value: Any, info: ValidationInfo) -> Path | None:
    """A path relative to the config's directory, that must be a readable file."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _fail(f"must be a path (a string); read {_short(value)}")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else Path((info.context or {})["base"]) / path
    problem = textfile.file_problem(path)
    if problem is not None:
        raise _fail(f"{path} {problem}")
    return path


_StackName = Annotated[str, AfterValidator(_matching(_NAME, "a stack name"))]
_FilePath = Annotated[Path | None, BeforeValidator(_existing_file)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Stacks(_Strict):
    control_plane: _StackName
    nodegroups: list[_StackName] = Field(default_factory=list)

    @field_validator("nodegroups")
    @classmethod
    def _distinct(cls, names: list[str], info: ValidationInfo) -> list[str]:
        control_plane = info.data.get("control_plane")
        problems = [
            f"{name!r} is the control-plane stack (stacks.control_plane); "
            "list only node-group stacks here"
            for name in dict.fromkeys(names)
            if name == control_plane
        ] + [
            f"{name!r} is listed {names.count(name)} times; list each node-group stack once"
            for name in dict.fromkeys(names)
            if names.count(name) > 1
        ]
        if problems:
            raise _fail("; ".join(problems))
        return names


def _optional(check: Callable[[str], str]) -> AfterValidator:
    return AfterValidator(lambda value: None if value is None else check(value))


class _Target(_Strict):
    kubernetes: Annotated[str | None, _numbers(_meant_minor), _optional(_kubernetes)] = None
    cni: Annotated[str | None, _numbers(_meant_tag), _optional(_cni)] = None


def _env_names(env: dict[str, str]) -> dict[str, str]:
    bad = sorted(k for k in env if not _ENV_NAME.match(k))
    if bad:
        raise _fail(f"{', '.join(map(repr, bad))} cannot be environment variable names")
    return env


class _Cni(_Strict):
    env: Annotated[dict[str, str], AfterValidator(_env_names)] = Field(default_factory=dict)


def _gate_minimum(name: str) -> Callable[[int | None], int | None]:
    minimum = GATE_MINIMUMS.get(name, 0)

    def check(value: int | None) -> int | None:
        if value is not None and value < minimum:
            if minimum:
                raise _fail(f"{value} would switch CAP002 off; it must be at least {minimum}")
            raise _fail(f"{value} must be a whole number >= 0")
        return value

    return check


if TYPE_CHECKING:
    _Gates = _Strict
else:  # one optional whole-number field per threshold of GATE_DEFAULTS
    _Gates = create_model(
        "_Gates",
        __base__=_Strict,
        **{
            name: (Annotated[int | None, AfterValidator(_gate_minimum(name))], None)
            for name in GATE_DEFAULTS
        },
    )


def _timeout_in_range(value: int) -> int:
    low, high = ROLLBACK_TIMEOUT_RANGE
    if not low <= value <= high:
        raise _fail(f"{value} is outside the {low}..{high} minutes EKS accepts")
    return value


class _Rollback(_Strict):
    timeout_minutes: Annotated[int, AfterValidator(_timeout_in_range)] = ROLLBACK_TIMEOUT_DEFAULT


def _adoptable(names: list[str]) -> list[str]:
    unknown = [n for n in dict.fromkeys(names) if n not in ADOPTABLE_ADDONS]
    twice = [n for n in dict.fromkeys(names) if names.count(n) > 1]
    problems = [
        f"{n!r} is not an add-on upgrader can adopt ({', '.join(ADOPTABLE_ADDONS)})"
        for n in unknown
    ] + [f"{n!r} is listed {names.count(n)} times; list each add-on once" for n in twice]
    if problems:
        raise _fail("; ".join(problems))
    return names


class _Addons(_Strict):
    adopt: Annotated[list[str], AfterValidator(_adoptable)] = Field(default_factory=list)


def _none_is_default(value: Any) -> Any:
    return {} if value is None else value


_Section = BeforeValidator(_none_is_default)


class _Document(_Strict):
    cluster: Annotated[str, AfterValidator(_matching(_NAME, "an EKS cluster name"))]
    region: Annotated[str, AfterValidator(_matching(_REGION, "an AWS region (ap-northeast-1)"))]
    stacks: _Stacks
    target: Annotated[_Target, _Section] = _Target()
    cni: Annotated[_Cni, _Section] = _Cni()
    manifests: _FilePath = None
    kubeconfig: _FilePath = None
    gates: Annotated[_Gates, _Section] = _Gates()
    rollback: Annotated[_Rollback, _Section] = _Rollback()
    addons: Annotated[_Addons, _Section] = _Addons()


KNOWN_KEYS = frozenset(_Document.model_fields)


# Error wording: the key path, the problem, the value read.

_PLAIN = {
    "string_type": "must be a string",
    "int_type": "must be a whole number",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _describe(error: ErrorDetails) -> str:
    loc = error["loc"]
    key = ".".join(str(part) for part in loc) or "(top level)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key{_did_you_mean(loc)}"
    if kind == "missing":
        return f"{key}: is missing"
    if kind == "upgrader":
        return f"{key}: {error['msg']}"
    problem = _PLAIN.get(kind, error["msg"])
    if kind == "string_type" and isinstance(error["input"], int | float):
        problem += " (quote it)"
    shown = "(not shown)" if tuple(map(str, loc[:2])) == _SECRET_PATHS else _short(error["input"])
    return f"{key}: {problem}; read {shown}"


def _did_you_mean(loc: tuple[int | str, ...]) -> str:
    known = _fields_at(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    prefix = "".join(f"{part}." for part in loc[:-1])
    if close:
        return f"; did you mean `{prefix}{close[0]}`?"
    return f" (known: {', '.join(sorted(known))})"


def _fields_at(loc: tuple[int | str, ...]) -> list[str]:
    model: Any = _Document
    for part in loc:
        model = _model_of(model.model_fields[str(part)].annotation)
    return list(model.model_fields)


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next(m for m in _walk(annotation) if isinstance(m, type) and issubclass(m, BaseModel))


def _walk(annotation: Any) -> Iterator[Any]:
    yield annotation
    for arg in getattr(annotation, "__args__", ()) + getattr(annotation, "__metadata__", ()):
        yield from _walk(arg)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

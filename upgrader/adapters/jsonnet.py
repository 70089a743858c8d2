"""Jsonnet evaluation (the only module importing ``_gojsonnet``) and ``upgrader compile``.

The library (top-level ``jsonnet/``, installed as ``upgrader.jsonnet``) is served from the
package through an import callback, so evaluation works from any directory after
``pip install .``. A team's own manifests (config ``manifests:``) may be jsonnet, YAML or
JSON; their jsonnet can import the library as ``upgrader/lib/<file>.libsonnet``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import _gojsonnet
import yaml

from upgrader.catalog.versions import catalog
from upgrader.config import Config
from upgrader.errors import BadInputError
from upgrader.manifests import Obj, file_name, to_yaml, validate
from upgrader.semver import Version

PACKAGE = "upgrader.jsonnet"
PREFIX = "upgrader/jsonnet/"  # how package files are named in jsonnet errors and imports
USER_LIBRARY = "upgrader/"  # import prefix a user's jsonnet uses to reach the library
# "file:12:3-9" or, for a multi-line range, "file:(348:5)-(399:6)"
_LOCATION = re.compile(r"(?P<file>[^\s:]+\.(?:jsonnet|libsonnet|json)):\(?(?P<line>\d+)")


def _package_bytes(relative: str) -> bytes | None:
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    node = resources.files(PACKAGE)
    for part in parts:
        node = node.joinpath(part)
    return node.read_bytes() if node.is_file() else None


def _normpath(path: str) -> str:
    out: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if out:
                out.pop()
        elif part not in ("", "."):
            out.append(part)
    return "/".join(out)


class _Importer:
    """gojsonnet import callback: package files by virtual path, user files from disk.

    A missing file is answered with a jsonnet ``error`` and recorded in ``missing``, because
    gojsonnet 0.22 garbles the message of an exception raised inside the callback.
    """

    def __init__(self) -> None:
        self.missing: list[str] = []

    def __call__(self, base: str, rel: str) -> tuple[str, bytes]:
        if base.startswith(PREFIX):
            return self._package(_normpath(base[len(PREFIX) :] + rel), rel)
        candidate = Path(base) / rel
        if candidate.is_file():
            return str(candidate), candidate.read_bytes()
        if rel.startswith(USER_LIBRARY):
            return self._package(_normpath(rel[len(USER_LIBRARY) :]), rel)
        return self._missing(str(candidate), f"cannot import {rel}: no file {candidate}")

    def _package(self, relative: str, rel: str) -> tuple[str, bytes]:
        data = _package_bytes(relative)
        if data is None:
            return self._missing(
                PREFIX + relative, f"cannot import {rel}: no {PREFIX}{relative} in upgrader"
            )
        return PREFIX + relative, data

    def _missing(self, path: str, message: str) -> tuple[str, bytes]:
        self.missing.append(message)
        return path, f"error {json.dumps(message)}\n".encode()

    def check(self, source: str) -> None:
        """Raise for imports that could not be resolved, even ones never evaluated."""
        if self.missing:
            raise BadInputError(
                source, "; ".join(self.missing), "fix the import path (relative to the file)"
            )


def _jsonnet_error(error: RuntimeError, main: str, hint: str) -> BadInputError:
    text = str(error).strip()
    first = text.splitlines()[0] if text else "evaluation failed"
    found = _LOCATION.search(text)
    where = f"{found['file']}:{found['line']}" if found else main
    message = first.removeprefix("RUNTIME ERROR: ")
    if found and message.startswith(found["file"]):  # static errors start with the location
        message = message.split(" ", 1)[-1]
    return BadInputError(where, message, hint)


def evaluate(main: str, *, tla: Mapping[str, Any]) -> Any:
    """Evaluate entry point ``main`` (e.g. ``aws-node.jsonnet``) of the packaged library with
    top-level arguments ``tla`` (JSON values); returns the JSON result."""
    code = _package_bytes(main)
    if code is None:
        raise BadInputError(
            PREFIX + main, "is not part of the jsonnet library", "reinstall upgrader"
        )
    importer = _Importer()
    try:
        out = _gojsonnet.evaluate_snippet(
            PREFIX + main,
            code.decode(),
            import_callback=importer,
            tla_codes={key: json.dumps(value) for key, value in tla.items()},
        )
    except RuntimeError as error:
        importer.check(PREFIX + main)
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(tla.items()))
        raise _jsonnet_error(
            error, PREFIX + main, f"check the inputs ({args}) against the version catalog"
        ) from None
    importer.check(PREFIX + main)
    return json.loads(out)


def _flatten(value: Any, source: str) -> list[Obj]:
    """Objects from a jsonnet/YAML result: an object, a list, a ``kind: List`` or a map of
    name -> object (kubecfg style), nested in any combination."""
    if value is None:
        return []
    if isinstance(value, list):
        return [obj for item in value for obj in _flatten(item, source)]
    if isinstance(value, dict):
        if value.get("kind") == "List" and isinstance(value.get("items"), list):
            return _flatten(value["items"], source)
        if "apiVersion" in value or "kind" in value:
            return [value]
        return [obj for key in sorted(value) for obj in _flatten(value[key], source)]
    raise BadInputError(
        source,
        f"evaluates to a {type(value).__name__}, not Kubernetes objects",
        "return an object, a list of objects or a map of name -> object",
    )


def _user_jsonnet(path: Path, ext_vars: Mapping[str, str]) -> Any:
    importer = _Importer()
    try:
        out = _gojsonnet.evaluate_file(str(path), import_callback=importer, ext_vars=dict(ext_vars))
    except RuntimeError as error:
        importer.check(str(path))
        raise _jsonnet_error(
            error,
            str(path),
            f"fix the jsonnet at that line; ext vars available: {', '.join(sorted(ext_vars))}",
        ) from None
    importer.check(str(path))
    return json.loads(out)


def _user_yaml(path: Path) -> Any:
    try:
        return list(yaml.safe_load_all(path.read_text()))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise BadInputError(where, str(error.problem), "fix the YAML syntax there") from None
    except yaml.YAMLError as error:
        raise BadInputError(str(path), str(error), "fix the YAML syntax") from None


def user_manifests(
    path: Path, *, cluster: str, region: str, kubernetes: str | Version
) -> list[Obj]:
    """The team's own manifests: ``.jsonnet``/``.libsonnet`` evaluated (ext vars ``cluster``,
    ``region``, ``kubernetes``), ``.yaml``/``.yml``/``.json`` read as they are."""
    path = path.resolve()
    if not path.is_file():
        raise BadInputError(
            str(path), "does not exist", "fix `manifests:` in the config or create the file"
        )
    if path.suffix in (".jsonnet", ".libsonnet"):
        minor = catalog().kubernetes(kubernetes).version.minor_str
        raw = _user_jsonnet(path, {"cluster": cluster, "region": region, "kubernetes": minor})
    elif path.suffix in (".yaml", ".yml", ".json"):
        raw = _user_yaml(path)
    else:
        raise BadInputError(
            str(path), "is not jsonnet, YAML or JSON", "use .jsonnet, .yaml, .yml or .json"
        )
    return _flatten(raw, str(path))


def aws_node(
    version: str | Version, *, region: str, kubernetes: str | Version, env: Mapping[str, str]
) -> list[Obj]:
    """aws-node objects of CNI release ``version`` for a cluster at ``kubernetes``."""
    cni = version if isinstance(version, Version) else Version.parse(str(version), "CNI version")
    crd_api = catalog().kubernetes(kubernetes).crd_api_version
    user_env = {str(k): str(v) for k, v in env.items()}
    tla = {"version": cni.tag, "region": region, "env": user_env, "crd_api": crd_api}
    return _flatten(evaluate("aws-node.jsonnet", tla=tla), f"aws-node@{cni.tag}")


def kube_proxy(kubernetes: str | Version, *, region: str) -> list[Obj]:
    """kube-proxy for Kubernetes ``kubernetes`` (image tag from the version catalog)."""
    release = catalog().kubernetes(kubernetes)
    tla = {"tag": release.kube_proxy, "region": region, "kubernetes": release.version.minor_str}
    return _flatten(evaluate("kube-proxy.jsonnet", tla=tla), "kube-proxy")


def coredns(kubernetes: str | Version, *, region: str, replicas: int = 2) -> list[Obj]:
    """CoreDNS for Kubernetes ``kubernetes`` (image tag from the version catalog)."""
    release = catalog().kubernetes(kubernetes)
    tla = {
        "tag": release.coredns,
        "region": region,
        "kubernetes": release.version.minor_str,
        "replicas": replicas,
    }
    return _flatten(evaluate("coredns.jsonnet", tla=tla), "coredns")


def _checked(key: str, objs: list[Obj]) -> list[Obj]:
    problems = validate(objs)
    if problems:
        raise BadInputError(
            key, "compiled manifests are invalid: " + "; ".join(problems), "fix the source"
        )
    return objs


def compile_all(
    *,
    region: str,
    kubernetes: str | Version,
    cni: Sequence[str | Version],
    cni_env: Mapping[str, str],
    manifests: Path | None = None,
    cluster: str = "",
    coredns_replicas: int = 2,
) -> dict[str, list[Obj]]:
    """Every manifest of an upgrade to ``kubernetes``: one aws-node set per CNI step in
    ``cni`` (keys ``aws-node@<tag>``), ``kube-proxy``, ``coredns`` and, with ``manifests``,
    the team's own (``user``). Each set is validated; problems raise ``BadInputError``."""
    out: dict[str, list[Obj]] = {}
    for step in cni:
        version = step if isinstance(step, Version) else Version.parse(str(step), "CNI version")
        key = f"aws-node@{version.tag}"
        out[key] = _checked(
            key, aws_node(version, region=region, kubernetes=kubernetes, env=cni_env)
        )
    out["kube-proxy"] = _checked("kube-proxy", kube_proxy(kubernetes, region=region))
    out["coredns"] = _checked(
        "coredns", coredns(kubernetes, region=region, replicas=coredns_replicas)
    )
    if manifests is not None:
        objs = user_manifests(manifests, cluster=cluster, region=region, kubernetes=kubernetes)
        out["user"] = _checked(str(manifests), objs)
    return out


def compile_config(
    config: Config, *, cni: Sequence[str | Version] | None = None
) -> dict[str, list[Obj]]:
    """``compile_all`` for a loaded config; ``cni`` defaults to the configured target CNI,
    else the catalog's recommendation for the target Kubernetes version."""
    target = config.target_cni or catalog().kubernetes(config.target_kubernetes).cni
    return compile_all(
        region=config.region,
        kubernetes=config.target_kubernetes,
        cni=list(cni) if cni is not None else [target],
        cni_env=dict(config.cni_env),
        manifests=config.manifests,
        cluster=config.cluster,
    )


def write(manifests: Mapping[str, list[Obj]], out_dir: Path) -> list[Path]:
    """One deterministic YAML file per component in ``out_dir``; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for key in sorted(manifests):
        path = out_dir / file_name(key)
        path.write_text(to_yaml(manifests[key]))
        written.append(path)
    return written


__all__ = [
    "aws_node",
    "compile_all",
    "compile_config",
    "coredns",
    "evaluate",
    "kube_proxy",
    "user_manifests",
    "write",
]


def registry(region: str) -> str:
    """The registry of the EKS-owned add-on images for ``region`` (from the library)."""
    return str(evaluate("registry.jsonnet", tla={"region": region}))

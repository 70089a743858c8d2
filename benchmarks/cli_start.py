"""CLI start-up benchmark (issue 15): CPU time of ``upgrader --help`` and ``capacity``.

The CPU time of ``upgrader --help`` and of a pure ``upgrader capacity`` calculation,
against ``python -c "import typer"``.

Runs each command in a fresh interpreter N times (after one unmeasured warm-up run that
writes the byte-code cache, as an installed CLI has it: ``PYTHONDONTWRITEBYTECODE`` is
dropped from the children's environment), takes the CPU time (user + sys) the child used from
``getrusage(RUSAGE_CHILDREN)`` deltas, and prints the median of each, all measured in this
one run, with its ratio to the typer baseline. Target: each ratio <= 1.5.

For reference it also measures a minimal two-command typer app (``--help``, and one command
with one option): what typer itself costs on top of its import, whatever the application
does (rich help rendering; pydantic coercion of option values).

    python benchmarks/cli_start.py [--repeat 5] [--instance-type r5.xlarge]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

TARGET = 1.5
BASELINE = "python -c 'import typer'"
MINIMAL_APP = """
import typer
app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
@app.command()
def one(name: str = "x") -> None:
    typer.echo(name)
@app.command()
def two() -> None:
    pass
app()
"""


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """User + sys CPU seconds of one run of ``argv``; it must exit 0."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {done.returncode}: {done.stderr.decode()}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_cpu(argv: list[str], env: dict[str, str], repeat: int, warmup: int) -> float:
    """The median CPU seconds of ``repeat`` runs, after ``warmup`` unmeasured ones."""
    for _ in range(warmup):
        cpu_seconds(argv, env)
    return statistics.median(cpu_seconds(argv, env) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="measured runs per command")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs per command")
    parser.add_argument("--instance-type", default="r5.xlarge")
    args = parser.parse_args()
    upgrader = [sys.executable, "-m", "upgrader"]
    commands = {
        BASELINE: [sys.executable, "-c", "import typer"],
        "(minimal typer app --help)": [sys.executable, "-c", MINIMAL_APP, "--help"],
        "(minimal typer app one --name y)": [
            sys.executable,
            "-c",
            MINIMAL_APP,
            "one",
            "--name",
            "y",
        ],
        "upgrader --help": [*upgrader, "--help"],
        "upgrader capacity": [
            *upgrader,
            "capacity",
            "--instance-type",
            args.instance_type,
            "--pods",
            "30",
            "--cni-version",
            "v1.10.1",
            "--warm-ip-target",
            "5",
            "--minimum-ip-target",
            "10",
        ],
    }
    with tempfile.TemporaryDirectory() as cache:
        # No refreshed catalog overlay from the user's cache: the bundled table only.
        env = {**os.environ, "UPGRADER_CACHE_DIR": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        figures = {
            name: median_cpu(argv, env, args.repeat, args.warmup) for name, argv in commands.items()
        }
    baseline = figures[BASELINE]
    print(f"CPU time (user+sys), median of {args.repeat} runs; target <= {TARGET} x baseline")
    width = max(len(name) for name in figures)
    for name, seconds in figures.items():
        ratio = seconds / baseline
        verdict = (
            "" if name.startswith(("python", "(")) else ("  ok" if ratio <= TARGET else "  OVER")
        )
        print(f"  {name:<{width}}  {seconds * 1000:7.1f} ms  {ratio:5.2f} x{verdict}")


if __name__ == "__main__":
    main()

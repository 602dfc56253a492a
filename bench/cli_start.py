"""Benchmark: how long the ``hub`` command takes to start.

Runs each command R times in fresh processes (like ``hyperfine --runs R``) and prints the best
and the median wall time, and the best CPU time (user + system of the child: less disturbed
by other processes on a busy machine than the wall time), next to ``python -c pass``:

- ``hub --help`` (builds the whole command tree, loads every plugin to add its commands);
- ``hub status`` against a fresh SQLite hub (settings, database, plugins, job runtime);
- ``import hub`` (what a plugin pays to import the public API).

It also prints, for ``hub --help`` and ``hub status``, the heavy modules they import (FastAPI,
uvicorn, stripe, xhtml2pdf, SQLAlchemy, SQLModel, httpx, Dramatiq, redis, psycopg; from
``sys.modules`` at exit: neither needs any of them) and their ten slowest imports by
``python -X importtime`` (cumulative).

The sources are byte-compiled first (``compileall``, outside the timing), as Python leaves
them after any first start and as an installed wheel has them: ``PYTHONDONTWRITEBYTECODE``
(set on the project's machine) would otherwise make every start compile the hub's and the
plugins' sources again, which no user's second start does. ``--no-compile`` measures what it
finds instead.

    python bench/cli_start.py [--runs 10] [--no-compile]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 0.3
HEAVY = ("fastapi", "uvicorn", "stripe", "xhtml2pdf", "sqlalchemy", "sqlmodel", "httpx",
         "dramatiq", "redis", "psycopg")


def _hub() -> list[str]:
    """The ``hub`` console script of this interpreter (run through it, not ``-m``)."""
    script = Path(sys.executable).with_name("hub")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hub.cli.main"]


def timed(argv: list[str], runs: int, env: dict[str, str], cwd: str) -> tuple[float, float, float]:
    """(best wall, median wall, best CPU) seconds of ``argv`` over ``runs`` fresh processes."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-800:]}")
    return min(walls), statistics.median(walls), min(cpus)


def heavy_modules(args: list[str], env: dict[str, str], cwd: str) -> list[str]:
    """Heavy modules in ``sys.modules`` after ``hub ARGS`` has run in-process."""
    code = ("import sys\nfrom hub.cli.main import main\n"
            f"main({args!r})\n"
            f"print('HEAVY=' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd, capture_output=True,
                         text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("HEAVY="))
    return line.removeprefix("HEAVY=").split()


def slowest_imports(args: list[str], env: dict[str, str], cwd: str,
                    top: int = 10) -> list[tuple[int, str]]:
    """The ``top`` slowest top-level imports of ``hub ARGS`` by cumulative microseconds."""
    code = f"from hub.cli.main import main\nmain({args!r})"
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", code], env=env, cwd=cwd,
                         capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        if len(name) - len(name.lstrip()) <= 3:  # depth 0 or 1: the imports that matter
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-compile", action="store_true",
                        help="do not byte-compile the sources first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-cli-start-") as folder:
        # the defaults `hub init` writes: SQLite in the data folder, the in-process job queue
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        subprocess.run([*_hub(), "init"], env=env, cwd=folder, check=True, capture_output=True)
        subprocess.run([*_hub(), "db", "upgrade"], env=env, cwd=folder, check=True,
                       capture_output=True)
        load = os.getloadavg()
        if not args.no_compile:
            root = Path(__file__).resolve().parent.parent
            subprocess.run([sys.executable, "-m", "compileall", "-q",
                            *(str(root / d) for d in ("hub", "plugins", "connectors"))],
                           check=True, capture_output=True)
            print("sources byte-compiled first (as after any first start; --no-compile: not)")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs "
              f"(figures are inflated on a busy machine; the CPU column less so)")
        base = timed([sys.executable, "-c", "pass"], args.runs, env, folder)
        rows = [("python -c pass", base),
                ("python -c 'import hub'", timed([sys.executable, "-c", "import hub"],
                                                 args.runs, env, folder)),
                ("hub --help", timed([*_hub(), "--help"], args.runs, env, folder)),
                ("hub status", timed([*_hub(), "status"], args.runs, env, folder))]
        print(f"{'command':<24} {'best wall':>10} {'median wall':>12} {'best CPU':>9}  "
              f"target")
        for name, (best, median, cpu) in rows:
            target = f"< {TARGET_SECONDS} s" if name.startswith("hub ") else ""
            print(f"{name:<24} {best:>9.3f}s {median:>11.3f}s {cpu:>8.3f}s  {target}")
        if os.environ.get("PYTHONDONTWRITEBYTECODE") and args.no_compile:
            print("PYTHONDONTWRITEBYTECODE is set: the hub's own modules are compiled from "
                  "source at every start")
        for args in (["--help"], ["status"]):
            command = " ".join(["hub", *args])
            heavy = heavy_modules(args, env, folder)
            print(f"heavy modules imported by `{command}`: {', '.join(heavy) or 'none'}")
            print(f"slowest imports of `{command}` (cumulative, -X importtime):")
            for micros, name in slowest_imports(args, env, folder):
                print(f"  {micros / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()

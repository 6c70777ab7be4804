# SPDX-License-Identifier: GPL-3.0-or-later
"""Run make targets one after the other and say at the end what each took: what `make test` runs.

    python tools/phases.py TARGET... [--molecule-log .build/molecule.log]

CI keeps only the end of what `make test` printed and has a time budget; this puts the time of each phase there,
and of each molecule step (from the time stamps of the molecule log `make lab-tests` writes), whether the run
passed or not. It stops at the first target that fails and exits with its code. Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta

# "HH:MM:SS INFO     [default > converge] Executing" in the molecule log (make test stamps each line)
STEP = re.compile(r"^(\d\d:\d\d:\d\d) INFO +\[(?P<scenario>[\w-]+) > (?P<step>[\w-]+)\] Executing")
LAST_STAMP = re.compile(r"^(\d\d:\d\d:\d\d) ")


def clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def molecule_steps(lines: list[str]) -> list[tuple[str, float]]:
    """Each molecule step of the log and its seconds, up to the next step (or the log's last time stamp). A step
    that molecule announces twice in a row (it does for verify) counts once."""
    marks: list[tuple[str, datetime]] = []
    last = None
    for line in lines:
        stamp = LAST_STAMP.match(line)
        if not stamp:
            continue
        at = datetime.strptime(stamp.group(1), "%H:%M:%S")
        if last and at < last:  # past midnight
            at += timedelta(days=1)
        last = at
        step = STEP.match(line)
        if step:
            name = f"{step['scenario']} > {step['step']}"
            if not marks or marks[-1][0] != name:
                marks.append((name, at))
    if not marks or last is None:
        return []
    ends = [at for _, at in marks[1:]] + [last]
    return [(name, (end - start).total_seconds()) for (name, start), end in zip(marks, ends, strict=True)]


def table(rows: list[tuple[str, float]], title: str) -> str:
    width = max(len(name) for name, _ in rows)
    lines = [title] + [f"  {name:<{width}}  {clock(secs):>6}" for name, secs in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--molecule-log", default=".build/molecule.log")
    args = ap.parse_args()
    make = os.environ.get("MAKE", "make")
    started = time.time()
    rows: list[tuple[str, float]] = []
    rc = 0
    for target in args.targets:
        t0 = time.monotonic()
        rc = subprocess.run([make, "--no-print-directory", target], check=False).returncode
        rows.append((target if rc == 0 else f"{target} (failed, exit {rc})", time.monotonic() - t0))
        if rc != 0:
            break
    rows.append(("total", sum(secs for _, secs in rows)))
    print()
    print(table(rows, "make test, time per phase:"))
    log = args.molecule_log
    if os.path.exists(log) and os.path.getmtime(log) >= started:
        with open(log, errors="replace") as f:
            steps = molecule_steps(f.read().splitlines())
        if steps:
            print(table(steps, "molecule, time per step:"))
    return rc


if __name__ == "__main__":
    sys.exit(main())

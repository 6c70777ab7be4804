# SPDX-License-Identifier: GPL-3.0-or-later
"""Print the Ansible tasks that stopped a run, from its log, in a few lines.

    python tools/failed_tasks.py LOG [--last N]

CI keeps only the end of what `make test` printed, and a molecule failure ends in recaps that do not say which
task failed or why. This reads the log `make lab-tests` writes (.build/molecule.log) and prints, for the last N
failures that were not ignored (`...ignoring` after them), the task's name, the `fatal:`/`failed:` line and the
first lines of its message, each cut to a readable width; when no task failed (molecule itself or a
verifier did), the last lines of the log. Stdlib only.
"""

from __future__ import annotations

import argparse
import re
import sys

TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(?P<name>.*?)\]")
# At the start of a line (after the time stamp make test puts in front), not quoted in some output.
STAMP = re.compile(r"^(?:\d\d:\d\d:\d\d )?")
FAILURE = re.compile(r"^(?:fatal|failed): \[[^\]]+\]")
IGNORED = "...ignoring"
# How many lines of a failure's message to keep, and how wide each line may be.
MESSAGE_LINES = 8
WIDTH = 900
# How many of the log's last lines to print when no task failed.
TAIL_LINES = 8


def cut(line: str) -> str:
    return line if len(line) <= WIDTH else line[: WIDTH - 3] + "..."


def failures(lines: list[str]) -> list[list[str]]:
    """Each failure that was not ignored: its task, its failure line, the first lines of what follows."""
    found: list[list[str]] = []
    task = "(no task)"
    current: list[str] | None = None
    task_start = 0  # how many failures were found before the current task
    for stamped in lines:
        line = STAMP.sub("", stamped, count=1)
        if line.strip() == IGNORED:  # a line of its own (a failure's message may quote an inner run's)
            del found[task_start:]  # every failure of the task (each loop item) was ignored
            current = None
            continue
        match = TASK.search(line)
        if match:
            task, task_start, current = match.group("name"), len(found), None
            continue
        if FAILURE.search(line):
            current = [f"task: {task}", line.strip()]
            found.append(current)
            continue
        if current is not None and not line.startswith(" "):
            current = None  # the message (indented, in the YAML result format) ended
        elif current is not None and len(current) < MESSAGE_LINES + 2:
            current.append(line.rstrip())
    return found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--last", type=int, default=2, help="how many failures to print (default 2: the last ones)")
    args = ap.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as log:
            lines = log.read().splitlines()
    except OSError as err:
        print(f"failed tasks: cannot read {args.log}: {err.strerror}")
        return 1
    found = failures(lines)
    if not found:
        # not a task that failed (molecule itself, a verifier): the end of the log says what did
        print(f"failed tasks: none in {args.log}; it ends with:")
        for line in lines[-TAIL_LINES:]:
            print(cut(line))
        return 0
    print(f"failed tasks: the last {min(args.last, len(found))} of {len(found)} in {args.log}")
    for failure in found[-args.last :]:
        for line in failure:
            print(cut(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m lab bench`: what the lab costs. Boot phases (from the last boot) and Ansible rounds.

A round is one task against a host: `raw` (one SSH command, no Python on the host) or a module (the
AnsiballZ payload run by the host's Python; ansible.builtin.ping is the smallest). Each figure is the
marginal cost of a task, (time of a play with N tasks - time of the same play with 1 task) / (N - 1),
so the controller's own start-up is left out. Ratios are against raw rounds measured in the same run.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from lab import access, paths, topology, vm


def play(hosts: str, module: str, args: str, tasks: int) -> str:
    task = f"    - {module}: {args}\n" if args else f"    - {module}:\n"
    return f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n" + task * tasks


def timed_play(text: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=paths.STATE, delete=False) as f:
        f.write(text)
    try:
        start = time.monotonic()
        subprocess.run(
            [str(paths.VENV_BIN / "ansible-playbook"), "-i", str(paths.INVENTORY), f.name],
            cwd=paths.REPO,
            env=access.ansible_env(),
            stdout=subprocess.DEVNULL,
            check=True,
        )
        return time.monotonic() - start
    finally:
        Path(f.name).unlink()


def round_cost(hosts: str, module: str, args: str, rounds: int) -> float:
    timed_play(play(hosts, module, args, 1))  # warm: connections, interpreter discovery, page cache
    one = timed_play(play(hosts, module, args, 1))
    many = timed_play(play(hosts, module, args, rounds + 1))
    return (many - one) / rounds


def boot_report() -> list[str]:
    st = vm.status()
    if not st.get("phases"):
        return ["boot: no record of the last boot (.lab/shared/status.json)"]
    lines = [f"boot: guest kernel up {st['guest_uptime_at_start']:.1f} s before the lab command started"]
    previous = 0.0
    for p in st["phases"]:
        lines.append(f"boot: {p['name']:20} +{p['t'] - previous:5.1f} s (at {p['t']:.1f} s)")
        previous = p["t"]
    return lines


def main(args: argparse.Namespace) -> int:
    if vm.running_pid() is None:
        raise SystemExit("the lab is not running: make lab-up")
    for line in boot_report():
        print(line)
    n = args.rounds
    one = topology.HOSTS[0].name
    cases = [
        (f"{one}", "ansible.builtin.raw", "/bin/true"),
        (f"{one}", "ansible.builtin.ping", ""),
        (f"{one}", "ansible.builtin.command", "/bin/true"),
        ("all", "ansible.builtin.raw", "/bin/true"),
        ("all", "ansible.builtin.ping", ""),
    ]
    results: dict[tuple[str, str], float] = {}
    for hosts, module, margs in cases:
        cost = round_cost(hosts, module, margs, n)
        results[(hosts, module)] = cost
        raw = results.get((hosts, "ansible.builtin.raw"))
        ratio = f"  ({cost / raw:.1f}x raw)" if raw and module != "ansible.builtin.raw" else ""
        print(f"round: {module:24} on {hosts:4}: {cost:5.2f} s per task over {n} tasks{ratio}")
    return 0

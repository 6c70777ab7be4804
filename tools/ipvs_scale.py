# SPDX-License-Identifier: GPL-3.0-or-later
"""How the IPVS backends scale: a no-op ipvs_service run against a 1,000-service table, netlink vs ipvsadm.

    .venv/bin/python tools/ipvs_scale.py [--services 1000] [--rounds 3]

On the host it boots one lab guest (`python -m lab run`) and re-runs itself there with --in-guest, with
PYTHONPATH set to the checkout's collections/ folder so that `ansible_collections.lvs.ha` is this tree (in the
guest process and the module runs it starts); in the guest it loads ip_vs, builds the table with one
`ipvsadm -R`, then measures, in the same boot:

* the module as Ansible runs it (a fresh Python process per run, args file, no controller), per backend;
* the backend's read of the whole table alone, in one process, per backend.

Prints figures and ratios; nothing here is a pass/fail assertion. Under TCG (software emulation) absolute
times are many times what real hardware gives; compare the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV_PY = REPO / ".venv" / "bin" / "python"
# collections/ansible_collections/lvs/ha links back to REPO: on PYTHONPATH, it makes this tree lvs.ha.
COLLECTIONS = REPO / "collections"
# A fresh Python process running a module's main() with its arguments, as AnsiballZ does (minus the zip):
# argv[1] is the module's name, argv[2] its arguments as JSON, or @FILE for a file that holds them (a table of
# thousands of entries is more than one argv string may hold).
RUN_MODULE = (
    "import importlib, json, pathlib, sys\n"
    "from ansible.module_utils.testing import patch_module_args\n"
    "module = importlib.import_module(f'ansible_collections.lvs.ha.plugins.modules.{sys.argv[1]}')\n"
    "args = sys.argv[2]\n"
    "args = pathlib.Path(args[1:]).read_text() if args.startswith('@') else args\n"
    "with patch_module_args(json.loads(args)):\n"
    "    module.main()\n"
)


def build_table(count: int) -> None:
    lines = []
    for i in range(count):
        vip = f"10.{100 + i // 65536}.{i // 256 % 256}.{i % 256}"
        lines.append(f"-A -t {vip}:80 -s wrr")
        lines.append(f"-a -t {vip}:80 -r 192.0.2.21:80 -g -w 1")
        lines.append(f"-a -t {vip}:80 -r 192.0.2.22:80 -g -w 1")
    subprocess.run(["ipvsadm", "-C"], check=True)
    subprocess.run(["ipvsadm", "-R"], input="\n".join(lines) + "\n", text=True, check=True)


def run_module(module: str, args: str, env: dict | None = None) -> tuple[dict, float, int]:
    """One run of `module` in a fresh Python process (RUN_MODULE; `args` JSON or @FILE): (result, seconds, the
    process's peak RSS in KiB). PYTHONPATH is this process's own (main() set it for the guest half)."""
    env = env or dict(os.environ, HOME="/tmp")
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen([str(VENV_PY), "-c", RUN_MODULE, module, args], env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        try:
            result = json.loads(out.read())
        except ValueError:
            result = {"failed": True, "msg": f"no JSON from {module} (rc {proc.returncode}): {err.read()[-2000:]!r}"}
    return result, seconds, usage.ru_maxrss


def time_module(backend: str, rounds: int) -> list[float]:
    args = json.dumps({"address": "10.100.0.0", "port": 80, "scheduler": "wrr", "backend": backend})
    times = []
    for _round in range(rounds):
        result, seconds, _rss = run_module("ipvs_service", args)
        times.append(seconds)
        if result.get("failed") or result.get("changed"):
            raise SystemExit(f"{backend}: the no-op run was not a no-op: {result}")
    return times


class Runner:
    """What IpvsadmBackend needs of an AnsibleModule: run_command() (argv, environ_update, data)."""

    def run_command(self, argv, environ_update=None, data=None, binary_data=False):
        env = dict(os.environ, **(environ_update or {}))
        p = subprocess.run(argv, input=data, capture_output=True, text=True, env=env, check=False)
        return p.returncode, p.stdout, p.stderr


def time_reads(rounds: int) -> dict[str, list[float]]:
    # Imported here: only the guest process has COLLECTIONS on its path (main() sets PYTHONPATH for it).
    from ansible_collections.lvs.ha.plugins.module_utils import ipvs

    backends = {
        "netlink": ipvs.NetlinkBackend(),
        "ipvsadm": ipvs.IpvsadmBackend(Runner(), "/usr/sbin/ipvsadm"),
    }
    result = {}
    for name, backend in backends.items():
        result[name] = []
        for _round in range(rounds):
            start = time.monotonic()
            table = backend.read(counters=False)
            result[name].append(time.monotonic() - start)
        result[f"{name} services"] = len(table)
    return result


def in_guest(count: int, rounds: int) -> int:
    subprocess.run(["modprobe", "ip_vs"], check=True)
    start = time.monotonic()
    build_table(count)
    print(f"table: {count} services x 2 real servers, built with one ipvsadm -R in {time.monotonic() - start:.1f}s")
    start = time.monotonic()
    subprocess.run([str(VENV_PY), "-c", "import pyroute2"], check=True)
    print(f"import pyroute2 in a fresh process: {time.monotonic() - start:.1f}s")
    module = {b: time_module(b, rounds) for b in ("netlink", "ipvsadm")}
    reads = time_reads(rounds)
    print(f"no-op ipvs_service run (fresh process, {rounds} rounds, median):")
    for b, t in module.items():
        print(f"  {b:8} {statistics.median(t):7.2f}s  (all: {', '.join(f'{x:.2f}' for x in t)})")
    print(f"  ratio netlink/ipvsadm: {statistics.median(module['netlink']) / statistics.median(module['ipvsadm']):.2f}")
    print(f"backend read of the whole table, in-process ({rounds} rounds, median):")
    for b in ("netlink", "ipvsadm"):
        print(f"  {b:8} {statistics.median(reads[b]):7.3f}s  ({reads[f'{b} services']} services read)")
    print(f"  ratio netlink/ipvsadm: {statistics.median(reads['netlink']) / statistics.median(reads['ipvsadm']):.2f}")
    subprocess.run(["ipvsadm", "-C"], check=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--in-guest", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.in_guest:
        return in_guest(args.services, args.rounds)
    return run_in_guest(Path(__file__), ["--services", str(args.services), "--rounds", str(args.rounds)])


def run_in_guest(script: Path, args: list[str], lab_args: tuple[str, ...] = ()) -> int:
    """Boot one lab guest (`python -m lab run LAB_ARGS`) that runs `script --in-guest ARGS` with PYTHONPATH set to
    COLLECTIONS (so `ansible_collections.lvs.ha` is this tree there and in the module runs it starts)."""
    argv = [str(VENV_PY), "-m", "lab", "run", *lab_args, "--", "env", f"PYTHONPATH={COLLECTIONS}"]
    argv += [str(VENV_PY), str(script.resolve()), "--in-guest", *args]
    return subprocess.run(argv, cwd=REPO, stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())

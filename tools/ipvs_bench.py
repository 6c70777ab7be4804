# SPDX-License-Identifier: GPL-3.0-or-later
"""ipvs_table against the other ways to program a table of 100, 1,000 and 5,000 real-server entries (`make bench-ipvs`).

    .venv/bin/python tools/ipvs_bench.py [--sizes 100,1000,5000] [--rounds 1] [--loop-seconds 60] [--methods M,M]

Like tools/ipvs_scale.py (whose helpers it uses) it boots one lab guest and re-runs itself there with --in-guest;
the guest writes its figures to .build/bench-ipvs/results.json (a folder shared writable with the guest), and
the host half adds the metadata and writes docs/bench/ipvs.json and, when matplotlib imports, docs/bench/ipvs.png.

A table of N entries is N/2 TCP services (wrr) with 2 direct-routing real servers each. Phases per size, each
from the same starting table (rebuilt with one untimed `ipvsadm -C; ipvsadm -R` where needed):

* from_empty: no table -> the whole table;
* noop: the whole table -> the same table;
* weights_1pct: 1 % of the real servers (every 100th) get weight 2;
* remove_10pct: every 10th service (10 % of the entries) goes.

Methods (each phase's result is checked against the expected `ipvsadm -S -n`, untimed):

* ipvsadm_loop: a shell script of one `ipvsadm` command per change, as the seed built its table; from_empty is
  bounded by --loop-seconds, past which its time is extrapolated from the entries it made (marked in the JSON);
  noop has nothing to run (a loop that reads nothing cannot tell), so it is null;
* ipvsadm_restore: `ipvsadm -C` then one `ipvsadm -R` of the whole desired table;
* ipvs_table_netlink, ipvs_table_ipvsadm: the module with purge=all, one fresh Python process per run, as Ansible
  runs it (tools/ipvs_scale.py's run_module), with the process's peak RSS;
* single_entry_modules (smallest size only, from_empty): ipvs_service and ipvs_realserver, one run per entry,
  bounded by --single-seconds; per-entry cost, extrapolated to the size when the bound cut it;
* keepalived: `keepalived -n -C` (checkers only) with one virtual_server per service and no health checks:
  seconds from its start (from_empty) or SIGHUP (weights_1pct, remove_10pct) until the kernel table is the
  expected one; noop is null (nothing in the kernel marks the end of a reload that changes nothing);
* the backends' read of the whole table in one process: netlink of this tree, netlink of `main` (its
  module_utils/ipvs.py, copied in by the host half), and ipvsadm; and one `ipvsadm -S -n` process (the raw read
  a no-op is compared with);
* ipvs_table_netlink_before (noop only): the no-op netlink run of `main`'s collection (its plugins, extracted by
  the host half), for the before/after of the netlink read.

--methods runs only the named methods (of ALL_METHODS; `reads` is the read of the whole table): its figures are
merged into the docs/bench/ipvs.json of a full run (the figures it did not measure are kept), and the run is
listed under `partial_runs` with its date, commit and command.

Prints figures and ratios; nothing here is a pass/fail assertion. Under TCG (software emulation) absolute
times are many times what real hardware gives; compare the ratios.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ipvs_scale import REPO, Runner, run_in_guest, run_module

OUT = REPO / ".build" / "bench-ipvs"
DOCS = REPO / "docs" / "bench"
PHASES = ["from_empty", "noop", "weights_1pct", "remove_10pct"]
METHODS = ["ipvsadm_loop", "ipvsadm_restore", "ipvs_table_netlink", "ipvs_table_ipvsadm", "keepalived"]
# what --methods may name: the methods of the phases, the extra ones, and `reads` (read_in_process_s)
ALL_METHODS = [*METHODS, "single_entry_modules", "ipvs_table_netlink_before", "reads"]
REAL_SERVERS = ("192.0.2.21", "192.0.2.22")
KEEPALIVED_TIMEOUT = 300
BEFORE_REF = "main"


# ---- the tables ------------------------------------------------------------------------------------


def vip(i: int) -> str:
    return f"10.{100 + i // 65536}.{i // 256 % 256}.{i % 256}"


def desired(entries: int, phase: str) -> list[dict]:
    """The table a phase ends with, as ipvs_table's `services` (N/2 services, 2 real servers each)."""
    services = []
    for i in range(entries // 2):
        if phase == "remove_10pct" and i % 10 == 9:
            continue
        real_servers = []
        for j, address in enumerate(REAL_SERVERS):
            weight = 2 if phase == "weights_1pct" and (2 * i + j) % 100 == 99 else 1
            real_servers.append({"address": address, "weight": weight})
        services.append({"address": vip(i), "port": 80, "scheduler": "wrr", "real_servers": real_servers})
    return services


def rules(services: list[dict]) -> list[str]:
    """`services` as `ipvsadm -S -n` prints it (and `ipvsadm -R` reads it)."""
    lines = []
    for svc in services:
        lines.append(f"-A -t {svc['address']}:80 -s wrr")
        lines += [f"-a -t {svc['address']}:80 -r {rs['address']}:80 -g -w {rs['weight']}" for rs in svc["real_servers"]]
    return lines


def loop_commands(entries: int, phase: str) -> list[str]:
    """The ipvsadm commands of a phase, one per change, after the full table (from_empty: after none)."""
    full, target = rules(desired(entries, "from_empty")), rules(desired(entries, phase))
    if phase == "from_empty":
        return target
    if phase == "weights_1pct":
        return [line.replace("-a ", "-e ", 1) for line in target if line not in full]
    if phase == "remove_10pct":
        kept = set(target)
        return [
            line.split(" -s ")[0].replace("-A ", "-D ", 1)
            for line in full
            if line.startswith("-A ") and line not in kept
        ]
    return []


def keepalived_conf(services: list[dict]) -> str:
    blocks = ["global_defs {\n  router_id lvsha_bench\n}\n"]
    for svc in services:
        rs = "".join(
            f"  real_server {r['address']} 80 {{\n    weight {r['weight']}\n  }}\n" for r in svc["real_servers"]
        )
        blocks.append(f"virtual_server {svc['address']} 80 {{\n  lb_algo wrr\n  lb_kind DR\n  protocol TCP\n{rs}}}\n")
    return "".join(blocks)


# ---- the kernel table --------------------------------------------------------------------------------


def ipvsadm(*args: str, data: str | None = None) -> str:
    return subprocess.run(["ipvsadm", *args], input=data, capture_output=True, text=True, check=True).stdout


def kernel_rules() -> list[str]:
    return sorted(line for line in ipvsadm("-S", "-n").splitlines() if line.strip())


def load(lines: list[str]) -> None:
    ipvsadm("-C")
    if lines:
        ipvsadm("-R", data="\n".join(lines) + "\n")


def check(method: str, phase: str, expected: list[str]) -> bool:
    got = kernel_rules()
    if got != sorted(expected):
        print(f"    !! {method} {phase}: the kernel has {len(got)} rule lines, {len(expected)} expected", flush=True)
        return False
    return True


# ---- the methods -------------------------------------------------------------------------------------


def run_loop(commands: list[str], limit: float) -> dict:
    """One `ipvsadm` process per command from a shell script, stopped after `limit` seconds."""
    script = OUT / "loop.sh"
    script.write_text("set -e\n" + "".join(f"ipvsadm {c}\n" for c in commands))
    start = time.monotonic()
    subprocess.run(["timeout", str(limit), "sh", str(script)], check=False, stderr=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    return {"seconds": seconds, "commands": len(commands)}


def run_restore(lines: list[str]) -> float:
    start = time.monotonic()
    load(lines)
    return time.monotonic() - start


def run_table(backend: str, services: list[dict], tree: Path | None = None) -> tuple[dict, float, int]:
    """ipvs_table in a fresh process; `tree`: a collections folder to take it from instead of this checkout."""
    path = OUT / "args.json"
    path.write_text(json.dumps({"services": services, "purge": "all", "backend": backend}))
    env = dict(os.environ, HOME="/tmp", PYTHONPATH=str(tree)) if tree else None
    return run_module("ipvs_table", f"@{path}", env=env)


def wait_for_table(expected: list[str], start: float, proc: subprocess.Popen) -> float | None:
    want = sorted(expected)
    while time.monotonic() - start < KEEPALIVED_TIMEOUT and proc.poll() is None:
        if kernel_rules() == want:
            return time.monotonic() - start
        time.sleep(0.1)
    return None


def keepalived_available() -> str | None:
    """None when keepalived can run here, else why not."""
    try:
        out = subprocess.run(["keepalived", "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "no keepalived in the guest's root"
    return None if out.returncode == 0 else f"keepalived --version: rc {out.returncode}"


def run_keepalived(entries: int) -> dict[str, float | None]:
    """from_empty (start), then weights_1pct and remove_10pct as reloads (SIGHUP) of the same daemon."""
    conf = OUT / "keepalived.conf"
    conf.write_text(keepalived_conf(desired(entries, "from_empty")))
    ipvsadm("-C")
    pids = [OUT / f"keepalived{n}.pid" for n in ("", "-vrrp", "-check")]
    argv = ["keepalived", "-n", "-C", "-f", str(conf), "-p", str(pids[0]), "-r", str(pids[1]), "-c", str(pids[2])]
    result: dict[str, float | None] = {"noop": None}
    with open(OUT / "keepalived.log", "w") as log:
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            result["from_empty"] = wait_for_table(rules(desired(entries, "from_empty")), start, proc)
            for phase in ("weights_1pct", "remove_10pct"):
                if result["from_empty"] is None:
                    result[phase] = None
                    continue
                if phase == "remove_10pct":  # from the full table, as the other methods
                    conf.write_text(keepalived_conf(desired(entries, "from_empty")))
                    proc.send_signal(signal.SIGHUP)
                    wait_for_table(rules(desired(entries, "from_empty")), time.monotonic(), proc)
                conf.write_text(keepalived_conf(desired(entries, phase)))
                start = time.monotonic()
                proc.send_signal(signal.SIGHUP)
                result[phase] = wait_for_table(rules(desired(entries, phase)), start, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    ipvsadm("-C")
    return result


def run_single_entry(entries: int, limit: float) -> dict:
    """ipvs_service then ipvs_realserver per entry (backend ipvsadm), in table order, for at most `limit` s."""
    ipvsadm("-C")
    done, seconds, rss = 0, 0.0, 0
    for svc in desired(entries, "from_empty"):
        runs = [("ipvs_service", {"address": svc["address"], "port": 80, "scheduler": "wrr"})]
        runs += [
            ("ipvs_realserver", {"service_address": svc["address"], "service_port": 80, "address": rs["address"]})
            for rs in svc["real_servers"]
        ]
        for module, args in runs:
            if seconds >= limit:
                break
            result, took, peak = run_module(module, json.dumps({**args, "backend": "ipvsadm"}))
            if result.get("failed"):
                print(f"    !! {module}: {result.get('msg')}", flush=True)
                return {"entries_done": done, "seconds": seconds, "failed": True}
            done, seconds, rss = done + 1, seconds + took, max(rss, peak)
    return {"entries_done": done, "seconds": seconds, "max_rss_kib": rss}


def read_backends(rounds: int) -> dict[str, float]:
    """The whole table read in this process: netlink (this tree and BEFORE_REF's copy) and ipvsadm; medians."""
    from ansible_collections.lvs.ha.plugins.module_utils import ipvs

    backends = {"netlink": ipvs.NetlinkBackend()}
    before_file = OUT / "ipvs_before.py"
    if before_file.exists():
        spec = importlib.util.spec_from_file_location("ipvs_before", before_file)
        before = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(before)
        backends["netlink_before"] = before.NetlinkBackend(before.import_pyroute2())
    backends["ipvsadm"] = ipvs.IpvsadmBackend(Runner(), "/usr/sbin/ipvsadm")
    result = {}
    for name, backend in backends.items():
        times = []
        for _round in range(rounds):
            start = time.monotonic()
            backend.read(counters=False)
            times.append(time.monotonic() - start)
        result[name] = statistics.median(times)
    return result


# ---- one size ----------------------------------------------------------------------------------------


def median_run(rounds: int, run) -> float | None:
    times = [run() for _round in range(rounds)]
    return None if None in times else statistics.median(times)


def bench_size(entries: int, args: argparse.Namespace, keepalived_missing: str | None) -> dict:
    full = rules(desired(entries, "from_empty"))
    figures: dict = {f"{phase}_s": {} for phase in PHASES}
    notes: list[str] = []
    rss: dict[str, int] = {}

    def say(phase, method, value):
        figures[f"{phase}_s"][method] = value
        shown = "n/a" if value is None else f"{value:.2f}s"
        print(f"  {entries:>5} {phase:<13} {method:<20} {shown}", flush=True)

    for phase in PHASES:
        start_lines = [] if phase == "from_empty" else full
        expected = rules(desired(entries, phase))
        # the per-entry loop
        commands = loop_commands(entries, phase)
        if "ipvsadm_loop" in args.methods:
            if phase == "noop":
                say(phase, "ipvsadm_loop", None)
            else:
                load(start_lines)
                loop = run_loop(commands, args.loop_seconds)
                made = len(commands) if phase != "from_empty" else len(kernel_rules())
                seconds = loop["seconds"]
                if made < len(commands):
                    seconds = seconds * len(commands) / max(made, 1)
                    notes.append(
                        f"ipvsadm_loop {phase}: cut at {loop['seconds']:.0f}s after {made} of {len(commands)} commands; time extrapolated"
                    )
                    figures.setdefault("extrapolated", []).append(f"{phase}_s.ipvsadm_loop")
                else:
                    check("ipvsadm_loop", phase, expected)
                say(phase, "ipvsadm_loop", seconds)
        # one ipvsadm -R of the whole desired table (after -C)

        def restore(start_lines=start_lines, expected=expected):
            load(start_lines)
            return run_restore(expected)

        if "ipvsadm_restore" in args.methods:
            say(phase, "ipvsadm_restore", median_run(args.rounds, restore))
            check("ipvsadm_restore", phase, expected)
        # the module, per backend
        for backend in ("netlink", "ipvsadm"):
            method = f"ipvs_table_{backend}"
            if method not in args.methods:
                continue

            def table(backend=backend, start_lines=start_lines, phase=phase, method=method):
                load(start_lines)
                result, seconds, peak = run_table(backend, desired(entries, phase))
                rss[method] = max(rss.get(method, 0), peak)
                if result.get("failed") or result.get("changed") != (phase != "noop"):
                    print(
                        f"    !! {method} {phase}: changed={result.get('changed')} {result.get('msg', '')}", flush=True
                    )
                return seconds

            say(phase, method, median_run(args.rounds, table))
            check(method, phase, expected)
        # the same no-op with BEFORE_REF's collection
        if phase == "noop" and "ipvs_table_netlink_before" in args.methods and (OUT / "before").is_dir():

            def before(expected=expected):
                load(expected)
                result, seconds, peak = run_table("netlink", desired(entries, "noop"), tree=OUT / "before")
                rss["ipvs_table_netlink_before"] = max(rss.get("ipvs_table_netlink_before", 0), peak)
                if result.get("failed") or result.get("changed"):
                    print(
                        f"    !! netlink before noop: changed={result.get('changed')} {result.get('msg', '')}",
                        flush=True,
                    )
                return seconds

            say(phase, "ipvs_table_netlink_before", median_run(args.rounds, before))
    # keepalived loading the same table
    if "keepalived" in args.methods:
        if keepalived_missing:
            for phase in PHASES:
                figures[f"{phase}_s"]["keepalived"] = None
        else:
            for phase, value in run_keepalived(entries).items():
                say(phase, "keepalived", value)
    # the backends' read of the full table, in-process
    if "reads" in args.methods:
        load(full)
        figures["read_in_process_s"] = read_backends(args.rounds)
        start = time.monotonic()
        ipvsadm("-S", "-n")
        figures["read_in_process_s"]["ipvsadm_save_process"] = time.monotonic() - start  # one raw read, own process
        for name, value in figures["read_in_process_s"].items():
            print(f"  {entries:>5} read in-process     {name:<20} {value:.2f}s", flush=True)
    figures["max_rss_kib"] = rss
    figures["notes"] = notes
    ipvsadm("-C")
    return figures


def in_guest(args: argparse.Namespace) -> int:
    subprocess.run(["modprobe", "ip_vs"], check=True)
    subprocess.run(["modprobe", "ip_vs_wrr"], check=True)
    keepalived_missing = keepalived_available()
    print(f"keepalived: {keepalived_missing or 'runs in the guest (checkers only, -C)'}", flush=True)
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict = {"sizes": {}, "keepalived": keepalived_missing or "measured"}
    started = time.monotonic()
    for entries in sizes:
        print(f"size {entries}: {entries // 2} services x 2 real servers", flush=True)
        results["sizes"][str(entries)] = bench_size(entries, args, keepalived_missing)
    smallest = min(sizes)
    single = {"entries_done": 0}
    if "single_entry_modules" in args.methods:
        single = run_single_entry(smallest, args.single_seconds)
    if single["entries_done"]:
        per_entry = single["seconds"] / single["entries_done"]
        single["per_entry_s"] = per_entry
        results["sizes"][str(smallest)]["from_empty_s"]["single_entry_modules"] = per_entry * smallest
        print(
            f"  single-entry modules: {single['entries_done']} runs in {single['seconds']:.1f}s, {per_entry:.2f}s per entry",
            flush=True,
        )
    if "single_entry_modules" in args.methods:
        results["single_entry_modules"] = single
    results["kernel"] = os.uname().release
    results["ipvsadm"] = ipvsadm("--version").strip()
    results["guest_seconds"] = time.monotonic() - started
    (OUT / "results.json").write_text(json.dumps(results, indent=1))
    return 0


# ---- the host half -----------------------------------------------------------------------------------


def ratio(a, b) -> float | None:
    return None if a is None or b in (None, 0) else round(a / b, 2)


def ratios(results: dict) -> dict:
    """The targets of issue 11, at the largest size."""
    size = max(results["sizes"], key=int)
    fig = results["sizes"][size]
    empty, noop, read = fig["from_empty_s"], fig["noop_s"], fig.get("read_in_process_s", {})
    out = {"size": int(size)}
    for backend in ("netlink", "ipvsadm"):
        method = f"ipvs_table_{backend}"
        out[f"{backend}_speedup_vs_loop"] = ratio(empty.get("ipvsadm_loop"), empty.get(method))
        out[f"{backend}_vs_restore"] = ratio(empty.get(method), empty.get("ipvsadm_restore"))
        out[f"{backend}_noop_vs_read"] = ratio(noop.get(method), read.get("ipvsadm_save_process"))
        out[f"{backend}_noop_vs_backend_read"] = ratio(noop.get(method), read.get(backend))
    out["netlink_read_vs_ipvsadm_read"] = ratio(read.get("netlink"), read.get("ipvsadm"))
    if "netlink_before" in read:
        out["netlink_read_before_vs_after"] = ratio(read["netlink_before"], read["netlink"])
    if noop.get("ipvs_table_netlink_before") and noop.get("ipvs_table_netlink"):
        out["netlink_noop_before_vs_after"] = ratio(noop["ipvs_table_netlink_before"], noop["ipvs_table_netlink"])
    return out


def merge(partial: dict, path: Path) -> dict:
    """The figures of a --methods run over those of the full run in `path` (kept where not measured again), with
    the partial run listed under `partial_runs`. Without a full run to merge into, the partial results alone."""
    run = {k: partial[k] for k in ("command", "date", "commit", "rounds", "kernel", "ipvsadm", "guest_seconds")}
    run["sizes"] = sorted(partial["sizes"], key=int)
    run["methods"] = partial["methods"]
    if not path.exists():
        return dict(partial, partial_runs=[run])
    full = json.loads(path.read_text())
    for size, figures in partial["sizes"].items():
        into = full["sizes"].setdefault(size, {})
        for key, value in figures.items():
            if key == "notes":
                into[key] = into.get(key, []) + [n for n in value if n not in into.get(key, [])]
            elif isinstance(value, dict):
                into.setdefault(key, {}).update(value)
            elif isinstance(value, list):
                into[key] = sorted(set(into.get(key, [])) | set(value))
            else:
                into[key] = value
    if "single_entry_modules" in partial:
        full["single_entry_modules"] = partial["single_entry_modules"]
    full["partial_runs"] = [*full.get("partial_runs", []), run]
    return full


def plot(results: dict, path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib does not import: no plot", flush=True)
        return False
    sizes = sorted(results["sizes"], key=int)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    methods = [*METHODS, "single_entry_modules", "ipvs_table_netlink_before"]
    for ax, phase in zip(axes, ("from_empty", "noop"), strict=True):
        for color, method in enumerate(methods):  # one colour per method in both panels
            points = [(int(s), results["sizes"][s][f"{phase}_s"].get(method)) for s in sizes]
            points = [(x, y) for x, y in points if y]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", color=f"C{color}", label=method)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("real-server entries")
        ax.set_ylabel("seconds (TCG guest)")
        ax.set_title(phase)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle("lvs.ha IPVS table: time against entries (make bench-ipvs)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,1000,5000")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--loop-seconds", type=float, default=60)
    ap.add_argument("--single-seconds", type=float, default=90)
    ap.add_argument(
        "--methods",
        default=",".join(ALL_METHODS),
        help=f"comma-separated, of {','.join(ALL_METHODS)} (default: all); a subset is merged into docs/bench/ipvs.json",
    )
    ap.add_argument("--replot", action="store_true", help="only redraw docs/bench/ipvs.png from docs/bench/ipvs.json")
    ap.add_argument("--in-guest", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.methods = args.methods.split(",")
    unknown = sorted(set(args.methods) - set(ALL_METHODS))
    if unknown:
        ap.error(f"--methods: unknown {', '.join(unknown)} (known: {', '.join(ALL_METHODS)})")
    partial = set(args.methods) != set(ALL_METHODS)
    if args.in_guest:
        return in_guest(args)
    if args.replot:
        return 0 if plot(json.loads((DOCS / "ipvs.json").read_text()), DOCS / "ipvs.png") else 1
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").unlink(missing_ok=True)
    before = subprocess.run(
        ["git", "show", f"{BEFORE_REF}:plugins/module_utils/ipvs.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if before.returncode == 0:
        (OUT / "ipvs_before.py").write_text(before.stdout)
        # BEFORE_REF's plugins as a collections folder, for its no-op ipvs_table run
        shutil.rmtree(OUT / "before", ignore_errors=True)
        tree = OUT / "before" / "ansible_collections" / "lvs" / "ha"
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", BEFORE_REF, "plugins"], cwd=REPO, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    passed = ["--sizes", args.sizes, "--rounds", str(args.rounds), "--loop-seconds", str(args.loop_seconds)]
    passed += ["--single-seconds", str(args.single_seconds)]
    if partial:
        passed += ["--methods", ",".join(args.methods)]
    start = time.monotonic()
    rc = run_in_guest(Path(__file__), passed, ("--memory", "2G", "--rwdir", str(OUT)))
    if rc != 0 or not (OUT / "results.json").exists():
        print(f"the guest run failed (rc {rc}): nothing written", flush=True)
        return rc or 1
    results = json.loads((OUT / "results.json").read_text())
    results["command"] = f"make bench-ipvs BENCH_ARGS='{' '.join(passed)}'"
    results["date"] = datetime.date.today().isoformat()
    results["rounds"] = args.rounds
    results["wall_seconds"] = round(time.monotonic() - start, 1)
    results["before_ref"] = BEFORE_REF
    results["methods"] = args.methods
    results["commit"] = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()
    if partial:
        results = merge(results, DOCS / "ipvs.json")
    results["ratios"] = ratios(results)
    DOCS.mkdir(parents=True, exist_ok=True)
    (DOCS / "ipvs.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["ratios"], indent=1))
    plot(results, DOCS / "ipvs.png")
    print(f"wrote {DOCS / 'ipvs.json'} (and ipvs.png when matplotlib imports)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

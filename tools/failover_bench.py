# SPDX-License-Identifier: GPL-3.0-or-later
"""What a client sees when the directors fail over, per VRRP profile and event (`make bench-failover`, issue 10).

    .venv/bin/python tools/failover_bench.py [--profiles P,P] [--events E,E] [--runs 5] [--dry-run] [--replot]

Takes the lab lock (/tmp/lvsha-lab.lock, flock: it waits while another lab run holds it), boots the lab unless
one runs (and stops it at the end if it booted it), then per profile deploys the site with the profile's
`lvs_vrrp` as extra vars (`ansible-playbook site.yml -i inventories/lab -e @FILE`) and runs each event --runs
times. Before every run the pair is made healthy again and checked: both cables in, keepalived active on both
directors, the VIP on dr1 only, both real servers in both IPVS tables.

Profiles (PROFILES; docs/failover.md says which to choose for what):

* v2-default: what ships (inventories/lab): VRRPv2, 1 s adverts, multicast, PASS authentication;
* v2-unicast: the same with unicast adverts;
* v3-fast: VRRPv3, 0.1 s adverts, multicast (v3 has no authentication);
* v3-fast-sync: v3-fast with unicast adverts and the IPVS connection sync daemon;
* v3-fast-sync-delay: the recommended profile of inventories/example-fast: v3-fast-sync with preempt_delay 5 and
  both directors starting as BACKUP (extra var lvs_vrrp_state), so that a returning dr1 waits for its health
  checkers before it takes the VIP back.

Events (EVENTS), each measured by the client at once with molecule/shared/probe.py (a request every 50 ms, 3 s
timeout: failed requests; the outage, the longest time between two answers from the event on, a request answered
late after its SYN was sent again counting as the wait it was; and the same before the event as the lab's
baseline) and molecule/shared/download.py (4 MiB read over about 10 s,
back to back from PRE_S (3 s) before the event until the window ends: broken or complete), and on the directors by a
watcher that writes when the VIP comes and goes (CLOCK_BOOTTIME, /proc/uptime: the lab's hosts share one kernel):

* crash: dr1's cable pulled (`python -m lab link dr1 down`), its keepalived SIGKILLed 3 s later, as
  molecule/shared/failover.yml does (keepalived killed alone leaves its VIP and IPVS table in place: dr1 would
  go on forwarding); takeover = the VIP on dr2, from the pull;
* graceful: `systemctl stop keepalived` on dr1; takeover = the VIP on dr2, from the stop;
* failback: dr1's cable pulled, dr2 takes over, then the client starts and the cable goes back in: dr1
  preempts; takeover = the VIP back on dr1, from the plug;
* reload: `systemctl reload keepalived` on dr1; takeover = the VIP on dr2 if it ever moved (it should not);
* weight_change: the site playbook (directors only) with web1's weight changed: to 2 in a profile's odd runs, back
  to the profile's own weight in its even runs (one site run each); takeover as for reload; the event is the
  start of the playbook run.

Writes docs/bench/failover.json ({"profiles": {PROFILE: {EVENT: {"outage_s": [...], "failed": [...],
"broken_downloads": [...], "takeover_s": [...], "baseline_s": [...]}}}, one item per run, and metadata: date, command, commit,
kernel, runs; `history` lists every run of the tool), merged into an existing
file (a --profiles/--events subset replaces only what it measured), the median/max table between the markers
of docs/failover.md, and one PNG per profile (docs/bench/failover-PROFILE.png, every probe's latency around the
event, when matplotlib imports) from every run's probes, kept beside the figures in
docs/bench/failover-timelines.json.gz (replaced per profile and event as the figures are). Prints progress,
the table and the goals of issue 10; nothing here fails on a figure.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import fcntl
import gzip
import json
import math
import re
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
for _path in (REPO, REPO / "molecule" / "shared"):  # the lab package; probe.py and download.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import probe  # noqa: E402 - molecule/shared/probe.py, the prober the client runs

LOCK = Path("/tmp/lvsha-lab.lock")
OUT = REPO / ".build" / "bench-failover"
DOCS = REPO / "docs"
RESULTS = DOCS / "bench" / "failover.json"
# every run's probes ({PROFILE: {EVENT: [timeline per run]}}), committed with the figures they make: the plots
# and --refigure need them on any machine
TIMELINES = DOCS / "bench" / "failover-timelines.json.gz"
PAGE = DOCS / "failover.md"
MARK_BEGIN = "<!-- failover-bench table: begin (tools/failover_bench.py writes this part) -->"
MARK_END = "<!-- failover-bench table: end -->"
INVENTORY = "inventories/lab"
GROUP_VARS = REPO / INVENTORY / "group_vars" / "all"
LAB = [sys.executable, "-m", "lab"]

MASTER, BACKUP = "dr1", "dr2"
CLIENT = "client"
REAL_SERVERS = ("web1", "web2")
# What the client runs: the drill's copies (molecule/shared/vars/drill.yml), the same paths on the client.
PROBER = "/usr/local/lib/lvs-ha-probe.py"
DOWNLOADER = "/usr/local/lib/lvs-ha-download.py"
SNIFFER = "/usr/local/lib/lvs-ha-sniff.py"  # --trace: molecule/shared/sniff.py on the directors
TRACED = ("crash", "graceful", "failback")  # --trace: the events where the VIP moves
DOWNLOAD_FILE = "lvs-ha-drill.bin"
STOP = "/run/lvs-ha-bench.stop"
# Before a profile's site run (Bench.stop_pair); a host without the site yet has no keepalived to stop.
STOP_KEEPALIVED = "if systemctl cat keepalived >/dev/null 2>&1; then systemctl stop keepalived; fi"

PROBE_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 3.0
DOWNLOAD_MB = 4
DOWNLOAD_S = 10  # each download is read at DOWNLOAD_MB / DOWNLOAD_S MiB/s
WATCH_INTERVAL_S = 0.05
# The client and the downloads run this long before the event, from the client's first request. The event's own
# commands (arming the kill, the cable, each an SSH round under TCG) come on top: the download in flight at the
# event is 6-7 s old then (10.5 s with --trace's extra round), older than connection sync's delay (a batch
# flushed within about 2 s of the connection's third packet) and still short of its 10 s end. (6 s, tried on
# 2026-11-27, put the event after the first download's end: the next, young one was the one in flight.)
PRE_S = 3
PROBER_START_S = 30  # the most the prober may take to write its first line (its start over SSH on a busy lab)
KILL_AFTER_S = 3  # crash: keepalived SIGKILLed this long after the cable
# After the event: how long the window stays open (the longest expected outage, v2-default's 3.65 s, and the
# client seeing the site served again), before the stop file ends the prober and the download loop.
POST_S = {"crash": 12, "graceful": 10, "failback": 12, "reload": 8, "weight_change": 5}
TAKEOVER_WAIT_S = 30  # failback: dr2 must hold the VIP within this after the pull
HEALTHY_WAIT_S = 90  # the pair must be healthy within this before a run
SITE_TIMEOUT_S = 1800  # one ansible-playbook run
WEIGHT = 2  # weight_change: web1's weight during the change

PROFILES: dict[str, dict] = {
    "v2-default": {
        "about": "what ships (inventories/lab): VRRPv2, 1 s adverts, multicast, PASS authentication",
        "set": {},
        "drop": (),
    },
    "v2-unicast": {
        "about": "v2-default with unicast adverts (networks that drop multicast)",
        "set": {"unicast": True},
        "drop": (),
    },
    "v3-fast": {
        "about": "VRRPv3 with 0.1 s adverts, multicast (v3 has no authentication)",
        "set": {"version": 3, "advert_int": 0.1},
        "drop": ("auth_pass",),
    },
    "v3-fast-sync": {
        "about": "v3-fast with unicast adverts and connection sync (the kernel's sync daemons, from the role's unit)",
        "set": {"version": 3, "advert_int": 0.1, "unicast": True, "sync": {"enabled": True}},
        "drop": ("auth_pass",),
    },
    "v3-fast-sync-delay": {
        "about": "the recommended profile of inventories/example-fast: v3-fast-sync with a 5 s preempt_delay "
        "(both directors start as BACKUP): a returning dr1 takes the VIP back only after its health checkers "
        "have had time to fill its table",
        "set": {"version": 3, "advert_int": 0.1, "unicast": True, "sync": {"enabled": True}, "preempt_delay": 5},
        "drop": ("auth_pass",),
        # preempt_delay needs every director to start as BACKUP; dr1 still wins on priority.
        "hosts": {"lvs_vrrp_state": "BACKUP"},
    },
}
EVENTS = ("crash", "graceful", "failback", "reload", "weight_change")
FIGURES = ("outage_s", "failed", "broken_downloads", "takeover_s", "baseline_s")
COUNTS = ("probes", "downloads")  # kept per run beside the figures
# Events after which the VIP should stay where it is: no takeover (None) is the good case there.
STAYS = ("reload", "weight_change")

# Rough lab seconds, from docs/lab.md's figures under TCG on a loaded machine: the estimate printed up front.
BOOT_S = 90  # python -m lab up
FIRST_SITE_S = 480  # the first site run on fresh hosts (packages)
SITE_S = 300  # a site run that changes the VRRP profile (every host)
SITE_DIRECTORS_S = 150  # a directors-only site run under load (weight_change): 2 min idle, 6.5 busy
RESTORE_S = 20  # cables in, keepalived started, the pair checked
SETUP_S = 20  # the prober, the downloader and the download file put in place
COLLECT_S = 5  # stop file, the last download, the watcher's log fetched


# ---- profiles and extra vars -------------------------------------------------------------------------


def site_vars(folder: Path = GROUP_VARS) -> dict:
    """The lab's group_vars/all, as one mapping (every file, in name order)."""
    merged: dict = {}
    for path in sorted(folder.glob("*.yml")):
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


def resolve(value, variables: dict):
    """`value` with each string that is exactly `{{ name }}` replaced by that variable (the model's own
    references, such as a check's path `{{ lvs_health_path }}`); any other template is an error."""
    if isinstance(value, dict):
        return {k: resolve(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, variables) for v in value]
    if isinstance(value, str) and "{{" in value:
        match = re.fullmatch(r"\{\{\s*(\w+)\s*\}\}", value)
        if not match or match.group(1) not in variables:
            raise ValueError(f"cannot resolve {value!r} from the site model")
        return resolve(variables[match.group(1)], variables)
    return value


def profile_vrrp(base: dict, name: str) -> dict:
    """The whole lvs_vrrp of a profile: the site's, with the profile's keys set and dropped (extra vars replace
    a variable whole, so the profile carries every key). Connection sync uses the router id as its sync id."""
    profile = PROFILES[name]
    vrrp = {k: copy.deepcopy(v) for k, v in base.items() if k not in profile["drop"]}
    vrrp.update(copy.deepcopy(profile["set"]))
    if vrrp.get("sync", {}).get("enabled"):
        vrrp["sync"].setdefault("id", vrrp["virtual_router_id"])
    return vrrp


def weighted_services(services: list[dict], variables: dict, weight: int = WEIGHT) -> list[dict]:
    """The site's services with the first real server of the first service at `weight`."""
    changed = resolve(copy.deepcopy(services), variables)
    changed[0]["real_servers"][0]["weight"] = weight
    return changed


def extra_vars(variables: dict, name: str, weight: int | None = None) -> dict:
    """The extra vars of a profile's site run; with `weight`, also the services with web1's weight changed."""
    extra = {"lvs_vrrp": profile_vrrp(variables["lvs_vrrp"], name), **PROFILES[name].get("hosts", {})}
    if weight is not None:
        extra["lvs_services"] = weighted_services(variables["lvs_services"], variables, weight)
    return extra


def backup_priority(host: str = BACKUP) -> int:
    """The BACKUP's VRRP priority in the lab inventory (its host_vars)."""
    return int(yaml.safe_load((REPO / INVENTORY / "host_vars" / f"{host}.yml").read_text())["lvs_vrrp_priority"])


def failover_bound_s(vrrp: dict, priority: int) -> float:
    """VRRP's master-down interval: 3 adverts plus the skew, (256 - priority) / 256 of an advert (VRRPv3) or of
    a second (VRRPv2, RFC 3768)."""
    advert = float(vrrp.get("advert_int", 1))
    skew = (256 - priority) / 256
    return 3 * advert + (skew * advert if vrrp.get("version", 2) == 3 else skew)


# ---- arguments, plan and estimate ----------------------------------------------------------------------


def choices(value: str, known: Iterable[str], what: str) -> list[str]:
    picked = [v for v in value.split(",") if v]
    unknown = [v for v in picked if v not in known]
    if unknown or not picked:
        raise argparse.ArgumentTypeError(f"{what}: unknown {', '.join(unknown) or '(none given)'}")
    return picked


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--profiles",
        type=lambda v: choices(v, PROFILES, "--profiles"),
        default=list(PROFILES),
        help=f"comma-separated, of {','.join(PROFILES)} (default: all)",
    )
    ap.add_argument(
        "--events",
        type=lambda v: choices(v, EVENTS, "--events"),
        default=list(EVENTS),
        help=f"comma-separated, of {','.join(EVENTS)} (default: all)",
    )
    ap.add_argument("--runs", type=int, default=5, help="runs of each event per profile (default 5)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and its expected lab time, touch nothing")
    ap.add_argument("--replot", action="store_true", help="only redraw the PNGs and the table from what is stored")
    ap.add_argument(
        "--refigure",
        action="store_true",
        help="compute the outage and baseline of every stored run again from its kept timeline, then as --replot",
    )
    ap.add_argument("--keep-up", action="store_true", help="leave a lab this run booted up at the end")
    ap.add_argument(
        "--trace",
        action="store_true",
        help="also record, on the director that takes the VIP (crash, graceful, failback), every TCP segment to "
        "and from the VIP (and ICMP errors about them) and its IPVS connections just before the event and after "
        "the window, in .build/bench-failover/trace-RUN.jsonl and conns-RUN.txt, and the same segments as the "
        "client saw them in client-trace-RUN.jsonl (changes no figure)",
    )
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs: at least 1")
    return args


def event_seconds(event: str) -> float:
    """Lab seconds of one run of an event, its restore included."""
    window = PRE_S + POST_S[event] + DOWNLOAD_S + COLLECT_S
    if event == "failback":
        window += TAKEOVER_WAIT_S / 3  # the pull and dr2's takeover before the client starts
    if event == "weight_change":
        window += SITE_DIRECTORS_S
    return RESTORE_S + window


def estimate(profiles: list[str], events: list[str], runs: int, boot: bool = True) -> float:
    """Expected lab seconds of a plan: the boot and first site run when it boots, a site run per profile (the
    profile's deploy) and one at the end (the lab put back as it ships), the runs."""
    seconds = (BOOT_S + FIRST_SITE_S if boot else 0) + SETUP_S + SITE_S * (len(profiles) + 1)
    return seconds + len(profiles) * runs * sum(event_seconds(e) for e in events)


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


# ---- reading what the hosts say ------------------------------------------------------------------------


def vip_held(ip_addr_output: str, vip: str) -> bool:
    """Whether `ip -o -4 addr show` output holds `vip` (as VIP/prefix)."""
    return any(f" {vip}/" in line for line in ip_addr_output.splitlines())


def healthy(states: dict[str, str], vip: str, real_servers: list[str]) -> list[str]:
    """What keeps the pair from being healthy (empty: healthy), from each director's output of
    health_command(): keepalived active on both, the VIP on the MASTER only, every real server in both tables."""
    problems = []
    for host, out in sorted(states.items()):
        lines = out.splitlines()
        if not lines or lines[0].strip() != "active":
            problems.append(f"{host}: keepalived not active")
        if vip_held(out, vip) != (host == MASTER):
            problems.append(f"{host}: {'no VIP' if host == MASTER else 'holds the VIP'}")
        problems += [f"{host}: {rs} not in its table" for rs in real_servers if f"-> {rs}:" not in out]
    return problems


def parse_watch(text: str) -> list[tuple[float, bool]]:
    """The watcher's log: `TIME 1|0` lines (the VIP there or not), in order; other lines are skipped."""
    changes = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] in ("0", "1"):
            try:
                changes.append((float(parts[0]), parts[1] == "1"))
            except ValueError:
                continue
    return changes


def takeover(changes: list[tuple[float, bool]], t0: float) -> float | None:
    """Seconds from t0 until the watched host first holds the VIP at or after t0 (None: it never did)."""
    for t, held in changes:
        if held and t >= t0:
            return round(t - t0, 3)
    return None


def json_lines(text: str) -> Iterator:
    """The values of the lines of `text` that are JSON; the others (ssh's and the shell's words) are skipped."""
    for line in text.splitlines():
        try:
            yield json.loads(line)
        except ValueError:
            continue


def parse_probe(text: str) -> list[list]:
    """probe.py's request lines ([time, body, latency]); the summary and anything else are skipped."""
    return [item for item in json_lines(text) if isinstance(item, list) and len(item) >= 2]


def parse_downloads(text: str) -> list[dict]:
    """download.py's result lines (one JSON object per download)."""
    return [item for item in json_lines(text) if isinstance(item, dict) and "complete" in item]


class NotCounted(RuntimeError):
    """A run whose figures cannot count (window_problem): it is run again, up to ATTEMPTS times in all."""


# How many times a run is tried when its figures cannot count (a prober that started late on a busy machine).
ATTEMPTS = 3


def window_problem(samples: list[list], downloads: list[dict], t0: float) -> str | None:
    """Why a run's figures cannot count (None: they can): no probes, no download, or a probe window that does
    not cover the event."""
    if not samples:
        return "the prober wrote no request line"
    if not downloads:
        return "no download finished"
    if not samples[0][0] < t0 < samples[-1][0]:
        return f"the probes ({samples[0][0]:.2f} to {samples[-1][0]:.2f}) do not cover the event at {t0:.2f}"
    return None


def gaps_around(samples: list[list], t0: float) -> tuple[float | None, float]:
    """(outage, baseline): the longest time between two answers (probe.py's gaps) whose second answer comes at
    or after the event at t0, None if the client never recovered; and the longest one before the event, what
    the lab does without one (the probe's cadence, and its hiccups under TCG)."""
    gaps, ended_failing = probe.answer_gaps(samples)
    after = max((b - a for a, b in gaps if b >= t0), default=0.0)
    before = max((b - a for a, b in gaps if b < t0), default=0.0)
    return (None if ended_failing else round(after, 3)), round(before, 3)


def measure(samples: list[list], downloads: list[dict], t0: float, changes: list[tuple[float, bool]]) -> dict:
    """One run's figures: the outage and the baseline (gaps_around), the failed requests, the broken downloads,
    the takeover; and the timeline (times from the event) for the plot."""
    outage, baseline = gaps_around(samples, t0)
    return {
        "outage_s": outage,
        "failed": sum(1 for s in samples if s[1] is None),
        "broken_downloads": sum(1 for d in downloads if not d["complete"]),
        "takeover_s": takeover(changes, t0),
        "baseline_s": baseline,
        "probes": len(samples),
        "downloads": len(downloads),
        "timeline": [[round(s[0] - t0, 3), s[2] if len(s) > 2 else None, s[1] is not None] for s in samples],
    }


# ---- statistics, merge, table, goals -------------------------------------------------------------------


def summarise(values: list) -> tuple[float | None, float | None]:
    """(median, max) of a figure over runs; a None (the client never recovered) counts as infinite."""
    if not values:
        return None, None
    numbers = [math.inf if v is None else v for v in values]
    return statistics.median(numbers), max(numbers)


def record(results: dict, profile: str, event: str, run: dict) -> None:
    """Add one run's figures to results["profiles"][profile][event]."""
    into = results.setdefault("profiles", {}).setdefault(profile, {}).setdefault(event, {})
    for figure in FIGURES + COUNTS:
        into.setdefault(figure, []).append(run[figure])


def refigure(results: dict, samples: dict) -> dict:
    """`results` with outage_s and baseline_s computed again from each run's kept timeline (after a change of
    their definition); an event whose timelines do not match its runs one to one is left as it was."""
    out = copy.deepcopy(results)
    for profile, events in out.get("profiles", {}).items():
        for event, figures in events.items():
            timelines = samples.get(profile, {}).get(event, [])
            if len(timelines) != len(figures.get("failed", [])):
                continue
            pairs = [
                gaps_around([[t, "answer" if ok else None, latency or 0.0] for t, latency, ok in timeline], 0.0)
                for timeline in timelines
            ]
            figures["outage_s"] = [outage for outage, _ in pairs]
            figures["baseline_s"] = [baseline for _, baseline in pairs]
    return out


def merge(old: dict, new: dict) -> dict:
    """`new` (a run's results) over `old` (the stored file): each profile and event measured now replaces the
    stored one; the others are kept. The run's metadata (date, command, commit, kernel, runs per event, ...)
    goes on top and into `history`, a list of every run of the tool, with what it measured."""
    merged = copy.deepcopy(old)
    for profile, events in new.get("profiles", {}).items():
        merged.setdefault("profiles", {}).setdefault(profile, {}).update(copy.deepcopy(events))
    meta = {k: v for k, v in new.items() if k not in ("profiles", "history")}
    merged.update(meta)
    measured = {profile: sorted(events) for profile, events in new.get("profiles", {}).items()}
    merged["history"] = [*old.get("history", []), {**meta, "measured": measured}]
    return merged


def show(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value == math.inf:
        return "never"
    return f"{value:g}{unit}" if isinstance(value, int) or float(value).is_integer() else f"{value:.2f}{unit}"


def table(results: dict) -> str:
    """The markdown table of docs/failover.md: median and max per profile and event."""
    head = (
        "| profile | event | runs | outage s (median / max) | failed requests (median / max) "
        "| broken downloads (median / max) | takeover s (median / max) | gap before the event s (median / max) |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for profile in sorted(results.get("profiles", {}), key=lambda p: list(PROFILES).index(p) if p in PROFILES else 99):
        events = results["profiles"][profile]
        for event in [e for e in EVENTS if e in events] + sorted(set(events) - set(EVENTS)):
            figures = events[event]
            cells = []
            for figure in FIGURES:
                values = figures.get(figure, [])
                if figure == "takeover_s" and event in STAYS:
                    values = [v for v in values if v is not None]  # None: the VIP stayed, as it should
                    if not values:
                        cells.append("none")
                        continue
                median, worst = summarise(values)
                cells.append(f"{show(median)} / {show(worst)}")
            rows.append(f"| {profile} | {event} | {len(figures.get('outage_s', []))} | {' | '.join(cells)} |\n")
    return head + "".join(rows) if rows else "Not yet measured.\n"


def goals(results: dict, priority: int = 90, base_vrrp: dict | None = None) -> list[tuple[str, bool | None]]:
    """The goals of issue 10 against the figures: (goal, True/False, or None when not measured)."""
    profiles = results.get("profiles", {})

    def figures(profile, event, figure):
        return profiles.get(profile, {}).get(event, {}).get(figure)

    out: list[tuple[str, bool | None]] = []
    outage = figures("v3-fast-sync", "crash", "outage_s")
    out.append(("v3-fast-sync crash: median outage <= 0.5 s", None if not outage else summarise(outage)[0] <= 0.5))
    for figure in ("failed", "broken_downloads"):
        values = figures("v3-fast-sync", "crash", figure)
        out.append((f"v3-fast-sync crash: 0 {figure.replace('_', ' ')}", None if not values else max(values) == 0))
    for profile in PROFILES:
        values = figures(profile, "failback", "failed")
        out.append((f"{profile} failback: 0 failed", None if not values else max(values) == 0))
    for event in ("graceful", "reload", "weight_change"):
        for profile in PROFILES:
            values = figures(profile, event, "failed")
            out.append((f"{profile} {event}: 0 failed", None if not values else max(values) == 0))
    # The bound counts from the last advert; the outage counts from the cable pull, which falls anywhere between
    # two adverts: from the pull, the BACKUP takes over between bound - advert_int and bound, half an advert
    # before the bound on average.
    vrrp = base_vrrp or {"advert_int": 1}
    bound = failover_bound_s(vrrp, priority)
    expected = bound - float(vrrp.get("advert_int", 1)) / 2
    # The client's outage adds what TCP's retransmission timer makes of it (a SYN lost at the pull is sent again
    # 1 s, then 3 s after it), so VRRP's own part is read from the takeover too.
    for figure, what in (("outage_s", "outage"), ("takeover_s", "takeover (the VIP on the BACKUP)")):
        values = figures("v2-default", "crash", figure)
        met = None
        if values:
            met = abs(summarise(values)[0] - expected) <= 0.1 * expected
        goal = (
            f"v2-default crash: median {what} within 10% of {expected:.2f} s ({bound:.2f} s from the last advert, "
            "half an advert less from the pull)"
        )
        out.append((goal, met))
    return out


def goals_text(results: dict, **kwargs) -> str:
    mark = {True: "met", False: "NOT met", None: "not measured"}
    return "".join(f"- {goal}: {mark[met]}\n" for goal, met in goals(results, **kwargs))


def write_between_markers(page: str, text: str) -> str:
    """`page` with what lies between MARK_BEGIN and MARK_END replaced by `text`."""
    start, end = page.find(MARK_BEGIN), page.find(MARK_END)
    if start < 0 or end < start:
        raise ValueError(f"{PAGE.name}: the markers of the results table are missing")
    return page[: start + len(MARK_BEGIN)] + "\n" + text + page[end:]


# ---- the plot --------------------------------------------------------------------------------------------


def plot(profile: str, timelines: dict[str, list], path: Path, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """One figure per profile, one panel per event: every probe of every run by its time from the event (x) and
    its latency (y); failed probes as red crosses at the timeout; the event at 0. False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib does not import: no plot", flush=True)
        return False
    events = [e for e in EVENTS if timelines.get(e)]
    if not events:
        return False
    fig, axes = plt.subplots(len(events), 1, figsize=(11, 2.6 * len(events)), squeeze=False, sharey=True)
    for ax, event in zip(axes[:, 0], events, strict=True):
        for n, timeline in enumerate(timelines[event]):
            ok = [(t, lat) for t, lat, good in timeline if good and lat is not None]
            bad = [t for t, _lat, good in timeline if not good]
            if ok:
                ax.plot(*zip(*ok, strict=True), ".", markersize=2, color=f"C{n % 10}", label=f"run {n + 1}")
            if bad:
                ax.plot(bad, [timeout] * len(bad), "x", color="red", markersize=4)
        ax.axvline(0, color="black", linewidth=1)
        ax.set_yscale("log")
        ax.set_ylabel("latency s")
        ax.set_title(f"{profile}: {event} (event at 0; red x: failed, {timeout:g} s timeout)", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper right", ncol=5)
    axes[-1, 0].set_xlabel("seconds from the event")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return True


def png(profile: str) -> Path:
    return DOCS / "bench" / f"failover-{profile}.png"


# ---- running things: for real, or printed (--dry-run) ---------------------------------------------------


def ssh(host: str, script: str) -> list[str]:
    """ssh to a lab host (the lab's ssh_config) running `script` with the remote shell."""
    from lab import access, topology

    return access.ssh_argv(topology.host(host), script)


def shown(argv: list[str]) -> str:
    """A command as the plan prints it: `ssh HOST SCRIPT` for the lab's ssh, paths in the checkout relative."""
    from lab import topology

    if argv[:1] == ["ssh"]:
        names = {str(h.address): h.name for h in topology.HOSTS}
        host = next(a for a in argv if a in names)
        argv = ["ssh", names[host], *argv[argv.index(host) + 1 :]]
    if argv[:1] == [sys.executable]:
        argv = ["python", *argv[1:]]
    return shlex.join(argv).replace(f"{REPO}/", "")


class Runner:
    """Runs commands, or with dry=True prints them (and answers as a healthy lab would, with no figures)."""

    def __init__(self, dry: bool = False, out=print) -> None:
        self.dry = dry
        self.out = out
        self.env = None

    def say(self, message: str) -> None:
        if self.dry:
            self.out(f"    # {message}")
        else:
            print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)

    def run(self, argv: list[str], timeout: float = 120, check: bool = True) -> str:
        if self.dry:
            self.out(f"    {shown(argv)}")
            return ""
        if self.env is None:
            from lab import access

            self.env = access.ansible_env()
        result = subprocess.run(
            argv, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{shlex.join(argv)}: rc {result.returncode}: {(result.stdout + result.stderr)[-2000:]}")
        return result.stdout

    def start(self, argv: list[str], name: str):
        """A background process whose output goes to OUT/name; the handle for finish()."""
        if self.dry:
            self.out(f"    {shown(argv)} > {name} &")
            return None
        out = open(OUT / name, "w")  # noqa: SIM115 - closed by finish()
        return subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT), out

    def begun(self, handle) -> bool:
        """Whether a process from start() has written anything yet."""
        if handle is None:
            return True
        return Path(handle[1].name).stat().st_size > 0

    def finish(self, handle, timeout: float) -> str:
        if handle is None:
            return ""
        proc, out = handle
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        return Path(out.name).read_text()

    def sleep(self, seconds: float) -> None:
        if self.dry:
            self.out(f"    sleep {seconds:g}")
        else:
            time.sleep(seconds)

    def until(self, what: str, check: Callable[[], bool], limit: float, every: float = 1.0) -> bool:
        """Poll check() every `every` s for `limit` s at most."""
        if self.dry:
            self.out(f"    # until {what} (every {every:g} s, {limit:g} s at most)")
            return True
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(every)
        return False


class Bench:
    """The benchmark against the lab (or printed with a dry Runner)."""

    def __init__(self, runner: Runner, variables: dict, trace: bool = False) -> None:
        self.r = runner
        self.trace = trace
        self.vars = variables
        self.service = resolve(variables["lvs_services"][0], variables)
        self.vip = str(self.service["vip"])
        self.port = int(self.service["port"])
        self.url = f"http://{self.vip}:{self.port}/"
        self.interface = variables["lvs_director_interface"]
        self.real_servers = [self.address(rs["host"]) for rs in self.service["real_servers"]]
        self.run_id = 0
        self.weighted = False  # weight_change: web1 at WEIGHT now (alternates run by run)

    @staticmethod
    def address(host: str) -> str:
        from lab import topology

        return str(topology.host(host).address)

    # -- commands --

    def site(self, extra: Path | None, limit: str | None = None) -> list[str]:
        argv = [str(Path(sys.executable).parent / "ansible-playbook"), "site.yml", "-i", INVENTORY]
        argv += ["-e", f"@{extra.relative_to(REPO)}"] if extra else []
        return argv + (["--limit", limit] if limit else [])

    def health_command(self) -> str:
        return (
            f"systemctl is-active keepalived; ip -o -4 addr show dev {self.interface}; "
            f"ipvsadm -Ln -t {self.vip}:{self.port}"
        )

    def watcher(self, log: str, seconds: float) -> str:
        """A loop on a director, bounded in time, that writes `TIME 1|0` to `log` each time the VIP comes or goes
        (TIME from /proc/uptime, read by the shell itself: no process per reading)."""
        loop = (
            f"read now _ </proc/uptime; end=$(( ${{now%.*}} + {math.ceil(seconds)} )); prev=x; "
            f'while [ "${{now%.*}}" -lt "$end" ]; do '
            f'case "$(ip -o -4 addr show dev {self.interface})" in *" {self.vip}/"*) s=1;; *) s=0;; esac; '
            f'read now _ </proc/uptime; [ "$s" = "$prev" ] || echo "$now $s"; prev=$s; sleep {WATCH_INTERVAL_S}; '
            "done"
        )
        return f"nohup sh -c {shlex.quote(loop)} >{log} 2>&1 </dev/null & echo $! >{log}.pid"

    def prober(self, seconds: float) -> str:
        return f"exec python3 {PROBER} {self.url} {math.ceil(seconds)} {PROBE_INTERVAL_S} {PROBE_TIMEOUT_S} {STOP}"

    def downloads(self, seconds: float) -> str:
        """Downloads back to back until the stop file (each about DOWNLOAD_S s), at most enough for `seconds`."""
        count = math.ceil(seconds / DOWNLOAD_S) + 1
        rate = DOWNLOAD_MB * 1048576 // DOWNLOAD_S
        return (
            f"i=0; while [ $i -lt {count} ] && [ ! -e {STOP} ]; do "
            f"python3 {DOWNLOADER} {self.url}{DOWNLOAD_FILE} {rate}; i=$((i+1)); done"
        )

    def now(self, host: str) -> float:
        """The hosts' clock (CLOCK_BOOTTIME) as read on `host`."""
        out = self.r.run(ssh(host, "cut -d' ' -f1 /proc/uptime"))
        return float(out.split()[0]) if out.strip() else 0.0

    def link(self, host: str, state: str) -> float:
        """Pull or plug a cable; the time it happened on the hosts' clock (the last line lab link prints)."""
        out = self.r.run([*LAB, "link", host, state])
        return float(out.split()[-1]) if out.strip() else 0.0

    # -- set-up and restore --

    def setup(self) -> None:
        """The prober and the downloader on the client, the download file on the real servers."""
        shared = REPO / "molecule" / "shared"
        from lab import paths

        copies = [(CLIENT, shared / "probe.py", PROBER), (CLIENT, shared / "download.py", DOWNLOADER)]
        if self.trace:
            copies += [(host, shared / "sniff.py", SNIFFER) for host in (MASTER, BACKUP, CLIENT)]
        for host, src, dest in copies:
            self.r.run(["scp", "-q", "-F", str(paths.SSH_CONFIG), str(src), f"{host}:{dest}"])
        for host in REAL_SERVERS:
            path = f"/var/www/html/{DOWNLOAD_FILE}"
            self.r.run(
                ssh(host, f"test -s {path} || dd if=/dev/urandom of={path} bs=1M count={DOWNLOAD_MB} 2>/dev/null")
            )

    def restore_links(self) -> None:
        for host in (MASTER, BACKUP):
            self.link(host, "up")

    def restore(self) -> None:
        """A healthy pair before each run: cables in, keepalived started, then checked (HEALTHY_WAIT_S at most)."""
        self.restore_links()
        for host in (MASTER, BACKUP):
            self.r.run(ssh(host, "systemctl reset-failed keepalived; systemctl start keepalived"))
        problems: list[str] = []

        def check() -> bool:
            states = {h: self.r.run(ssh(h, self.health_command()), check=False) for h in (MASTER, BACKUP)}
            problems[:] = healthy(states, self.vip, self.real_servers)
            return not problems

        what = f"the VIP on {MASTER} only, keepalived active and both real servers in both tables"
        if not self.r.until(what, check, HEALTHY_WAIT_S):
            raise RuntimeError(f"the pair is not healthy after {HEALTHY_WAIT_S} s: {'; '.join(problems)}")

    def stop_pair(self) -> None:
        """keepalived stopped on both directors before the site changes the profile. A director on the new
        profile and one on the old do not understand each other's adverts (VRRPv2 and v3, multicast and
        unicast): both would hold the VIP, and the rollout's check after the first director (the BACKUP, which
        must then hold nothing) would fail. Stopped, each starts on the new profile as the site reaches it."""
        for host in (MASTER, BACKUP):
            self.r.run(ssh(host, STOP_KEEPALIVED))

    def extra_file(self, name: str, variables: dict) -> Path:
        """The extra vars file of a site run, OUT/name, written (shown on a dry run)."""
        path = OUT / name
        if self.r.dry:
            self.r.out(f"    # {path.relative_to(REPO)}: {json.dumps(variables)}")
        else:
            path.write_text(json.dumps(variables, indent=1) + "\n")
        return path

    def deploy(self, profile: str | None) -> None:
        """The site with a profile (None: as it ships), from both keepalived stopped."""
        extra = None
        if profile is not None:
            extra = self.extra_file(f"{profile}.json", extra_vars(self.vars, profile))
        self.restore_links()
        self.stop_pair()
        self.r.run(self.site(extra), timeout=SITE_TIMEOUT_S)
        self.weighted = False  # web1 at the profile's weight (weight_change alternates from there)

    # -- one run --

    def run(self, profile: str, event: str) -> dict | None:
        """One run of an event: the pair restored, the client and the watcher started, the event, the window,
        the figures (None on a dry run)."""
        self.run_id += 1
        self.r.say(f"{profile} {event}: a healthy pair first")
        self.restore()
        window = PRE_S + POST_S[event] + (SITE_TIMEOUT_S if event == "weight_change" else TAKEOVER_WAIT_S)
        watched = MASTER if event == "failback" else BACKUP
        log = f"/run/lvs-ha-bench-vip-{self.run_id}.log"
        # killed when its log is read; bounded in case that never happens (the waits of a failback included)
        self.r.run(ssh(watched, self.watcher(log, window + DOWNLOAD_S + 2 * TAKEOVER_WAIT_S + 30)))
        traced = self.trace and event in TRACED
        trace = f"/run/lvs-ha-bench-trace-{self.run_id}.jsonl"
        if traced:
            # on the host, as the watcher's log: a failback starts it before the cable (and SSH) goes
            sniff = f"python3 {SNIFFER} {self.interface} {self.vip} {math.ceil(window + DOWNLOAD_S + 30)} {STOP}"
            for host in (watched, CLIENT):  # the client's: who sent what it got (each frame's source MAC)
                self.r.run(ssh(host, f"rm -f {STOP}; nohup {sniff} >{trace} 2>&1 </dev/null &"))
        if event == "failback":
            self.link(MASTER, "down")

            def dr2_holds() -> bool:
                return vip_held(
                    self.r.run(ssh(BACKUP, f"ip -o -4 addr show dev {self.interface}"), check=False), self.vip
                )

            if not self.r.until(f"{BACKUP} holds the VIP", dr2_holds, TAKEOVER_WAIT_S, every=0.5):
                raise RuntimeError(f"failback: {BACKUP} did not take the VIP over within {TAKEOVER_WAIT_S} s")

            # The client's failures while dr2 takes over belong to the crash, not to the failback.
            def served() -> bool:
                return bool(
                    self.r.run(
                        ssh(CLIENT, f"curl -s -o /dev/null -m 1 -w %{{http_code}} {self.url}"), check=False
                    ).startswith("200")
                )

            if not self.r.until(f"the client is served through {BACKUP}", served, TAKEOVER_WAIT_S, every=0.5):
                raise RuntimeError(f"failback: the client is not served through {BACKUP} within {TAKEOVER_WAIT_S} s")
        self.r.run(ssh(CLIENT, f"rm -f {STOP}"))
        prober = self.r.start(ssh(CLIENT, self.prober(window)), f"probe-{self.run_id}.jsonl")
        downloading = self.r.start(ssh(CLIENT, self.downloads(window)), f"downloads-{self.run_id}.jsonl")
        # PRE_S from the client's first request, not from the prober's start: Python's start on the client took
        # over 4 s at times (every failback of a run), and the probes then began after the event. A prober still
        # silent after PROBER_START_S is not waited for: the run goes on, its processes end as every run's do, and
        # window_problem finds its probes missing the event.
        self.r.until("the client's first request", lambda: self.r.begun(prober), PROBER_START_S, 0.2)
        self.r.sleep(PRE_S)
        before = ""
        if traced and event != "failback":  # at a failback the watched director is cut off until the event
            before = self.r.run(ssh(watched, "ipvsadm -Lnc"), check=False)
        self.r.say(f"{profile} {event}: the event")
        t0 = self.event(profile, event)
        self.r.sleep(POST_S[event])
        self.r.run(ssh(CLIENT, f"touch {STOP}"))
        samples = parse_probe(self.r.finish(prober, PROBE_TIMEOUT_S + 30))
        downloads = parse_downloads(self.r.finish(downloading, 2 * DOWNLOAD_S + 30))
        collect = f"kill $(cat {log}.pid) 2>/dev/null; cat {log}; rm -f {log} {log}.pid"
        changes = parse_watch(self.r.run(ssh(watched, collect), check=False))
        if traced:
            self.save_trace(watched, trace, before)
            self.save_trace(CLIENT, trace)
        if self.r.dry:
            return None
        problem = window_problem(samples, downloads, t0)
        if problem:
            raise NotCounted(f"{profile} {event}: {problem} (see {OUT.relative_to(REPO)}/*-{self.run_id}.jsonl)")
        return measure(samples, downloads, t0, changes)

    def save_trace(self, host: str, trace: str, before: str | None = None) -> None:
        """--trace: the sniffer on `host` stopped and its lines kept in OUT beside the run's other files; on the
        director (`before`: its IPVS connections before the event) its connections now too. The client's lines
        go to client-trace-RUN.jsonl."""
        self.r.run(ssh(host, f"touch {STOP}"), check=False)
        after = self.r.run(ssh(host, "ipvsadm -Lnc"), check=False) if before is not None else ""
        lines = self.r.run(ssh(host, f"sleep 1; cat {trace}; rm -f {trace} {STOP}"), check=False)
        if self.r.dry:
            return
        if before is not None:
            (OUT / f"conns-{self.run_id}.txt").write_text(
                f"ipvsadm -Lnc\n{before}\nipvsadm -Lnc, after the window\n{after}"
            )
        (OUT / f"{'client-' if host == CLIENT else ''}trace-{self.run_id}.jsonl").write_text(lines)

    def event(self, profile: str, event: str) -> float:
        """Cause the event; its time on the hosts' clock."""
        if event == "crash":
            # Armed first and detached: SSH to dr1 goes with its cable.
            kill = f"sleep {KILL_AFTER_S}; systemctl kill --signal=KILL keepalived"
            self.r.run(ssh(MASTER, f"nohup sh -c {shlex.quote(kill)} >/dev/null 2>&1 </dev/null &"))
            return self.link(MASTER, "down")
        if event == "failback":
            return self.link(MASTER, "up")
        if event in ("graceful", "reload"):
            action = "stop" if event == "graceful" else "reload"
            out = self.r.run(ssh(MASTER, f"cut -d' ' -f1 /proc/uptime; systemctl {action} keepalived"))
            return float(out.split()[0]) if out.strip() else 0.0
        if event == "weight_change":
            # One site run per run, the weight alternating: to WEIGHT, then back to the profile's own.
            self.weighted = not self.weighted
            if self.weighted:
                extra = self.extra_file(f"{profile}-weight.json", extra_vars(self.vars, profile, weight=WEIGHT))
                self.r.say(f"{profile} weight_change: the site with web1 at weight {WEIGHT} (directors only)")
            else:
                extra = OUT / f"{profile}.json"
                self.r.say(f"{profile} weight_change: the site with the profile's weights again (directors only)")
            t0 = self.now(MASTER)
            self.r.run(self.site(extra, limit="localhost,directors"), timeout=SITE_TIMEOUT_S)
            return t0
        raise ValueError(f"unknown event {event}")


# ---- the whole plan -------------------------------------------------------------------------------------


def dry_run(args: argparse.Namespace, out=print) -> None:
    """The plan, printed: what runs, in order (one run of each event shown), and the expected lab time."""
    variables = site_vars()
    runs = len(args.profiles) * len(args.events) * args.runs
    out(
        f"plan: {len(args.profiles)} profiles x {len(args.events)} events x {args.runs} runs = {runs} runs; "
        f"expected lab time about {duration(estimate(args.profiles, args.events, args.runs))} "
        f"(with a boot and first site run), {duration(estimate(args.profiles, args.events, args.runs, boot=False))} "
        "on a lab already up with the site"
    )
    out(f"lock: {LOCK} (flock; waits while another lab run holds it)")
    out("lab: `python -m lab up` unless one runs (then `python -m lab down` at the end, unless --keep-up)")
    runner = Runner(dry=True, out=out)
    bench = Bench(runner, variables)
    out("set-up:")
    bench.setup()
    for n, profile in enumerate(args.profiles):
        vrrp = profile_vrrp(variables["lvs_vrrp"], profile)
        bound = failover_bound_s(vrrp, backup_priority())
        out(f"profile {profile}: {PROFILES[profile]['about']}; BACKUP takes over {bound:.2f} s after the last advert")
        bench.deploy(profile)
        for event in args.events:
            if n == 0:
                out(f"  {event} x {args.runs}, each run:")
                bench.run(profile, event)
            else:
                out(f"  {event} x {args.runs}, each run as for {args.profiles[0]}")
    out("at the end: the site as it ships, when the lab stays up:")
    bench.deploy(None)
    out(
        f"writes: {RESULTS.relative_to(REPO)} and {TIMELINES.relative_to(REPO)} (merged), "
        f"the table in {PAGE.relative_to(REPO)}, {', '.join(str(png(p).relative_to(REPO)) for p in args.profiles)}"
    )


def take_lock():
    fd = open(LOCK, "a")  # noqa: SIM115 - held until the process ends
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for the lab lock {LOCK} (another lab run holds it)", flush=True)
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def load_timelines(path: Path | None = None) -> dict:
    path = path or TIMELINES
    return json.loads(gzip.decompress(path.read_bytes())) if path.exists() else {}


def save_timelines(timelines: dict, path: Path | None = None) -> None:
    """Gzipped JSON with no time in its header: the same timelines make the same bytes."""
    path = path or TIMELINES
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(timelines, separators=(",", ":")).encode(), mtime=0))


def publish(results: dict, samples: dict, profiles: list[str]) -> None:
    """The JSON, the table in docs/failover.md, the PNGs of `profiles`, the table and goals printed."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    text = table(results)
    PAGE.write_text(write_between_markers(PAGE.read_text(), text))
    for profile in profiles:
        target = png(profile)
        measured = results.get("profiles", {}).get(profile, {})
        kept = samples.get(profile, {})
        unplotted = [e for e in EVENTS if e in measured and not kept.get(e)]
        if unplotted and target.exists():
            # the figure has panels of runs whose probes are not kept (measured before the timelines were
            # committed): redrawing it would lose them
            target = OUT / target.name
            print(
                f"kept {png(profile).relative_to(REPO)}: no timeline is kept for {profile} {', '.join(unplotted)} "
                f"(run those events again to draw it whole); what is kept is drawn in {target.relative_to(REPO)}",
                flush=True,
            )
        if plot(profile, kept, target):
            print(f"wrote {target.relative_to(REPO)}", flush=True)
    print(text + goals_text(results, priority=backup_priority(), base_vrrp=site_vars()["lvs_vrrp"]), flush=True)


def counted_run(bench: Bench, runner: Runner, profile: str, event: str) -> dict:
    """One run whose figures count: a run that cannot count is run again (ATTEMPTS in all), then the bench stops."""
    for attempt in range(1, ATTEMPTS):
        try:
            return bench.run(profile, event)
        except NotCounted as exc:
            runner.say(f"not counted, run again ({attempt}/{ATTEMPTS - 1}): {exc}")
    return bench.run(profile, event)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.dry_run:
        dry_run(args)
        return 0
    if args.replot or args.refigure:
        results, samples = load(RESULTS), load_timelines()
        if args.refigure:
            results = refigure(results, samples)
        publish(results, samples, list(results.get("profiles", {})))
        return 0
    print(
        f"expected lab time: about {duration(estimate(args.profiles, args.events, args.runs))} with a boot, "
        f"{duration(estimate(args.profiles, args.events, args.runs, boot=False))} on a lab already up "
        "(--dry-run: the plan)",
        flush=True,
    )
    _lock = take_lock()
    from lab import vm

    OUT.mkdir(parents=True, exist_ok=True)
    booted = vm.running_pid() is None
    plan_s = estimate(args.profiles, args.events, args.runs, boot=booted)
    if booted and subprocess.run([*LAB, "up"], cwd=REPO, check=False).returncode != 0:
        print("the lab did not come up", flush=True)
        return 1
    runner = Runner()
    bench = Bench(runner, site_vars(), trace=args.trace)
    started = time.monotonic()
    results: dict = {}
    samples = load_timelines()
    rc = 0
    kernel = ""
    try:
        kernel = runner.run(ssh(MASTER, "uname -r")).strip()
        for n, profile in enumerate(args.profiles):
            runner.say(f"profile {profile} ({n + 1}/{len(args.profiles)}): deploying the site")
            bench.deploy(profile)
            if n == 0:
                bench.setup()
            for event in args.events:
                timelines: list = []
                for i in range(args.runs):
                    figures = counted_run(bench, runner, profile, event)
                    record(results, profile, event, figures)
                    timelines.append(figures.pop("timeline"))
                    samples.setdefault(profile, {})[event] = timelines  # what the results hold, no more
                    runner.say(
                        f"{profile} {event} run {i + 1}/{args.runs}: outage {show(figures['outage_s'], ' s')}, "
                        f"{figures['failed']} of {figures['probes']} requests failed, "
                        f"{figures['broken_downloads']} of {figures['downloads']} downloads broken, "
                        f"takeover {show(figures['takeover_s'], ' s')} "
                        f"({duration(time.monotonic() - started)} of about {duration(plan_s)})"
                    )
    except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"stopped: {exc}", flush=True)
        rc = 1
    finally:
        try:
            if booted and not args.keep_up:
                subprocess.run([*LAB, "down"], cwd=REPO, check=False)
            else:
                bench.deploy(None)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"the lab was not put back as it ships: {exc}", flush=True)
    if not results:
        return rc or 1
    results.update(
        date=datetime.date.today().isoformat(),
        command=f"make bench-failover BENCH_ARGS='{' '.join(argv if argv is not None else sys.argv[1:])}'",
        commit=subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip(),
        kernel=kernel,
        runs=args.runs,
        probe={"interval_s": PROBE_INTERVAL_S, "timeout_s": PROBE_TIMEOUT_S},
        download={"mib": DOWNLOAD_MB, "seconds": DOWNLOAD_S},
        wall_seconds=round(time.monotonic() - started),
        complete=rc == 0,
    )
    save_timelines(samples)
    publish(merge(load(RESULTS), results), samples, args.profiles)
    return rc


if __name__ == "__main__":
    sys.exit(main())

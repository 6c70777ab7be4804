# SPDX-License-Identifier: GPL-3.0-or-later
"""ipvs_table: the plan (scenarios as data, each with its "already there" twin), the table after, check mode, diff,
the ipvsadm -R text, one netlink socket per batch, the rules file and bad input named by entry and option."""

from __future__ import annotations

import copy
import errno
import os
import stat
import struct

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.lvs.ha.plugins.module_utils import ipvs
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import realserver_record, service_record
from ansible_collections.lvs.ha.plugins.modules import ipvs_table
from ansible_collections.lvs.ha.tests.unit.plugins.modules.ipvs_fakes import FakeBackend

HTTP = service_record("tcp", "192.0.2.10", 80, scheduler="wrr")
HTTPS = service_record("tcp", "192.0.2.10", 443, persistence_timeout=600, persistence_netmask=24)
DNS6 = service_record("udp", "2001:db8::10", 53, scheduler="rr", one_packet=True)
FWM = service_record(fwmark=7, family="ipv4", scheduler="sh", sched_flags=["sh-port"])
FWM6 = service_record(fwmark=7, family="ipv6", scheduler="sh", sched_flags=["sh-port"])
OTHER = service_record("tcp", "192.0.2.99", 8080, scheduler="rr")  # not the task's (keepalived's, a person's)


def rs(address, port=80, **kw):
    return realserver_record(address, port, **kw)


def table(*services):
    return [dict(svc, realservers=list(rss)) for svc, rss in services]


def arg(svc, *rss):
    """The task's entry for a service record and real-server records (the options of ipvs_service/realserver)."""
    entry = {k: svc[k] for k in ("scheduler", "persistence_timeout", "sched_flags", "one_packet")}
    if svc["persistence_timeout"]:
        entry["persistence_netmask"] = svc["persistence_netmask"]
    if svc["fwmark"]:
        entry.update(fwmark=svc["fwmark"], family=svc["family"])
    else:
        entry.update(protocol=svc["protocol"], address=svc["address"], port=svc["port"])
    # (the port of a dr or tunnel real server is the service port: left out, as a task would)
    entry["real_servers"] = [
        {k: r[k] for k in ("address", "port", "forwarding", "weight", "upper_threshold", "lower_threshold")}
        if r["forwarding"] == "nat"
        else {k: r[k] for k in ("address", "forwarding", "weight", "upper_threshold", "lower_threshold")}
        for r in rss
    ]
    return entry


FULL = table(
    (HTTP, [rs("192.0.2.21", weight=3), rs("192.0.2.22")]),
    (HTTPS, [rs("192.0.2.21", 443), rs("192.0.2.22", 443)]),
    (DNS6, [rs("2001:db8::21", 53, forwarding="nat", upper_threshold=100, lower_threshold=10)]),
    (FWM, [rs("192.0.2.23", 0)]),
)
FULL_ARGS = [arg(svc, *svc["realservers"]) for svc in FULL]

# 10 services x 10 real servers = 100 entries, one weight changes (1%)
BIG = table(
    *[
        (service_record("tcp", f"198.51.100.{i}", 80, scheduler="wrr"), [rs(f"203.0.113.{j}") for j in range(10)])
        for i in range(10)
    ]
)
BIG_ARGS = [arg(svc, *svc["realservers"]) for svc in BIG]


def one_weight(args, service, real_server, weight):
    args = copy.deepcopy(args)
    args[service]["real_servers"][real_server]["weight"] = weight
    return args


BIG_ONE_WEIGHT = one_weight(BIG_ARGS, 4, 7, 5)


def moved_args():
    """192.0.2.22 leaves the HTTP service and joins the fwmark service."""
    args = copy.deepcopy(FULL_ARGS)
    args[0]["real_servers"] = args[0]["real_servers"][:1]
    args[3]["real_servers"].append({"address": "192.0.2.22"})
    return args


def with_(args, index, **changes):
    args = copy.deepcopy(args)
    args[index].update(changes)
    return args


# name -> (task arguments besides services, services, table before, expected changes as descriptions, in order)
SCENARIOS = {
    "from empty": (
        {},
        FULL_ARGS,
        [],
        [
            "add service tcp 192.0.2.10:80",
            "add service tcp 192.0.2.10:443",
            "add service udp [2001:db8::10]:53",
            "add service fwmark 7 (ipv4)",
            "add real server 192.0.2.21:80 to tcp 192.0.2.10:80",
            "add real server 192.0.2.22:80 to tcp 192.0.2.10:80",
            "add real server 192.0.2.21:443 to tcp 192.0.2.10:443",
            "add real server 192.0.2.22:443 to tcp 192.0.2.10:443",
            "add real server [2001:db8::21]:53 to udp [2001:db8::10]:53",
            "add real server 192.0.2.23:0 to fwmark 7 (ipv4)",
        ],
    ),
    "full, already there": ({}, FULL_ARGS, FULL, []),
    "1% of the weights": (
        {},
        BIG_ONE_WEIGHT,
        BIG,
        ["edit real server 203.0.113.7:80 of tcp 198.51.100.4:80: weight 1 -> 5"],
    ),
    "100 entries, already there": ({}, BIG_ARGS, BIG, []),
    "persistence changes in place (edit, never delete and add)": (
        {},
        with_(FULL_ARGS, 1, persistence_timeout=300, persistence_netmask=16),
        FULL,
        ["edit service tcp 192.0.2.10:443: persistence_timeout 600 -> 300, persistence_netmask 24 -> 16"],
    ),
    "persistence off": (
        {},
        with_(FULL_ARGS, 1, persistence_timeout=0, persistence_netmask=None),
        FULL,
        ["edit service tcp 192.0.2.10:443: persistence_timeout 600 -> 0, persistence_netmask 24 -> 32"],
    ),
    "persistence off, already there": (
        {},
        with_(FULL_ARGS, 1, persistence_timeout=0, persistence_netmask=None),
        table(
            *[
                (
                    dict(svc, persistence_timeout=0, persistence_netmask=32) if svc["port"] == 443 else svc,
                    svc["realservers"],
                )
                for svc in FULL
            ]
        ),
        [],
    ),
    "a new port is another service: added, and the old one purged as managed (it was saved)": (
        {"_saved": [FULL[1]]},
        with_(FULL_ARGS, 1, port=8443),
        FULL,
        [
            "add service tcp 192.0.2.10:8443",
            "add real server 192.0.2.21:8443 to tcp 192.0.2.10:8443",
            "add real server 192.0.2.22:8443 to tcp 192.0.2.10:8443",
            "delete service tcp 192.0.2.10:443",
        ],
    ),
    "real server moved between services, additions before deletions": (
        {},
        moved_args(),
        FULL,
        ["add real server 192.0.2.22:0 to fwmark 7 (ipv4)", "delete real server 192.0.2.22:80 of tcp 192.0.2.10:80"],
    ),
    "real server moved, already there": (
        {},
        moved_args(),
        table(
            (HTTP, [rs("192.0.2.21", weight=3)]),
            *[(svc, svc["realservers"]) for svc in FULL[1:3]],
            (FWM, [rs("192.0.2.23", 0), rs("192.0.2.22", 0)]),
        ),
        [],
    ),
    "purge none keeps a real server that is not listed": ({"purge": "none"}, moved_args()[:1], FULL[:1], []),
    "nat real server to another port: a new key": (
        {},
        [arg(DNS6, rs("2001:db8::21", 5353, forwarding="nat", upper_threshold=100, lower_threshold=10))],
        FULL[2:3],
        [
            "add real server [2001:db8::21]:5353 to udp [2001:db8::10]:53",
            "delete real server [2001:db8::21]:53 of udp [2001:db8::10]:53",
        ],
    ),
    "thresholds and forwarding in place": (
        {},
        [arg(DNS6, rs("2001:db8::21", 53, forwarding="tunnel", weight=0))],
        FULL[2:3],
        [
            (
                "edit real server [2001:db8::21]:53 of udp [2001:db8::10]:53: forwarding nat -> tunnel, "
                "weight 1 -> 0, upper_threshold 100 -> 0, lower_threshold 10 -> 0"
            )
        ],
    ),
    "fwmark services: IPv6 is another service than IPv4": (
        {"purge": "none"},
        [arg(FWM6, rs("2001:db8::23", 0))],
        FULL[3:],
        ["add service fwmark 7 (ipv6)", "add real server [2001:db8::23]:0 to fwmark 7 (ipv6)"],
    ),
    "fwmark services, already there": (
        {"purge": "all"},
        [arg(FWM, rs("192.0.2.23", 0)), arg(FWM6, rs("2001:db8::23", 0))],
        table((FWM6, [rs("2001:db8::23", 0)]), (FWM, [rs("192.0.2.23", 0)])),
        [],
    ),
    "fwmark scheduler flags": (
        {},
        [dict(arg(FWM, rs("192.0.2.23", 0)), sched_flags=["sh-fallback", "sh-port"])],
        FULL[3:],
        ["edit service fwmark 7 (ipv4): sched_flags sh-port -> sh-fallback,sh-port"],
    ),
    "services removed, purge none: nothing removed": ({"purge": "none"}, FULL_ARGS[:1], FULL, []),
    "services removed, purge managed without a rules file: no service removed": (
        {},
        FULL_ARGS[:1],
        FULL + table((OTHER, [])),
        [],
    ),
    "services removed, purge managed: the saved ones go, the other program's stays": (
        {"_saved": FULL},
        FULL_ARGS[:1],
        FULL + table((OTHER, [rs("192.0.2.31", 8080)])),
        ["delete service tcp 192.0.2.10:443", "delete service udp [2001:db8::10]:53", "delete service fwmark 7 (ipv4)"],
    ),
    "services removed, purge all: the other program's goes too": (
        {"purge": "all"},
        FULL_ARGS[:1],
        FULL + table((OTHER, [])),
        [
            "delete service tcp 192.0.2.10:443",
            "delete service tcp 192.0.2.99:8080",
            "delete service udp [2001:db8::10]:53",
            "delete service fwmark 7 (ipv4)",
        ],
    ),
    "services removed, purge all, already there": ({"purge": "all"}, FULL_ARGS[:1], FULL[:1], []),
    "empty list with purge all empties the table": (
        {"purge": "all"},
        [],
        FULL[:1],
        ["delete service tcp 192.0.2.10:80"],
    ),
    "a dr real server given another port is the service port, already there": (
        {},
        [
            dict(
                arg(HTTP),
                real_servers=[{"address": "192.0.2.21", "port": 8080, "weight": 3}, {"address": "192.0.2.22"}],
            )
        ],
        FULL[:1],
        [],
    ),
    "IPv6 written another way, already there": (
        {},
        [
            dict(
                FULL_ARGS[2],
                address="2001:DB8:0::10",
                real_servers=[dict(FULL_ARGS[2]["real_servers"][0], address="2001:db8:0:0::21")],
            )
        ],
        FULL[2:3],
        [],
    ),
}


@pytest.fixture
def backend(monkeypatch, tmp_path):
    """ipvs_table gets the FakeBackend of holder['backend']; a scenario's `_saved` services become a rules file."""
    holder = {}
    monkeypatch.setattr(ipvs_table, "get_backend", lambda module, choice: holder["backend"])
    return holder


def scenario_args(extra, services, tmp_path):
    args = {k: v for k, v in extra.items() if not k.startswith("_")}
    if "_saved" in extra:
        path = tmp_path / "ipvs.rules"
        path.write_text(ipvs.rules_text(extra["_saved"]))
        args["save_to"] = str(path)
    return dict(args, services=services)


def canonical(tbl):
    return ipvs.sort_table(copy.deepcopy(tbl))


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name, backend, run_module, tmp_path):
    extra, services, before, expected = SCENARIOS[name]
    backend["backend"] = fake = FakeBackend(before)
    args = dict(scenario_args(extra, services, tmp_path), return_table=True)
    result = run_module(ipvs_table.main, args, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert [c["description"] for c in result["changes"]] == expected
    assert fake.batches == (
        [[{k: c[k] for k in ("action", "kind", "service", "realserver")} for c in result["changes"]]]
        if expected
        else []
    )
    # what the module says the table is after equals what the changes made of the (independent) fake kernel
    assert result["table"] == canonical(fake.table)
    if "_saved" not in extra:
        assert result["changed"] is bool(expected)


@pytest.mark.parametrize("name", SCENARIOS)
def test_second_run_changes_nothing(name, backend, run_module, tmp_path):
    extra, services, before = SCENARIOS[name][:3]
    backend["backend"] = fake = FakeBackend(before)
    args = scenario_args(extra, services, tmp_path)
    run_module(ipvs_table.main, args)
    fake.batches.clear()
    result = run_module(ipvs_table.main, args)
    assert (result["changed"], result["changes"], fake.batches) == (False, [], [])


@pytest.mark.parametrize("name", SCENARIOS)
def test_check_mode_reports_the_same_and_writes_nothing(name, backend, run_module, tmp_path):
    extra, services, before, expected = SCENARIOS[name]
    backend["backend"] = fake = FakeBackend(before)
    args = dict(scenario_args(extra, services, tmp_path), return_table=True)
    rules = {p: p.read_text() for p in tmp_path.iterdir()}
    result = run_module(ipvs_table.main, args, check_mode=True, diff=True)
    assert [c["description"] for c in result["changes"]] == expected
    assert fake.batches == [] and fake.writes == []
    assert fake.table == before
    assert {p: p.read_text() for p in tmp_path.iterdir()} == rules
    # and the table it predicts is the one a real run leaves
    real = FakeBackend(before)
    backend["backend"] = real
    assert result["table"] == run_module(ipvs_table.main, args)["table"] == canonical(real.table)


def test_diff_is_the_table_as_text(backend, run_module):
    backend["backend"] = FakeBackend(FULL)
    args = copy.deepcopy(FULL_ARGS)
    args[0]["real_servers"][0]["weight"] = 0
    result = run_module(ipvs_table.main, {"services": args}, diff=True)
    before, after = result["diff"]["before"].splitlines(), result["diff"]["after"].splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if a != b]
    assert changed == [("  -> 192.0.2.21:80                Route   3", "  -> 192.0.2.21:80                Route   0")]
    assert "UDP  [2001:db8::10]:53 rr ops" in after
    assert "  -> [2001:db8::21]:53            Masq    1 upper 100 lower 10" in after
    assert "TCP  192.0.2.10:443 wlc persistent 600 mask /24" in after
    assert "FWM  7 sh (sh-port)" in after
    assert len(after) == 2 + 4 + 6


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("diff", [False, True])
def test_the_table_is_returned_only_when_asked(check_mode, diff, backend, run_module):
    backend["backend"] = FakeBackend(FULL[:1])
    result = run_module(ipvs_table.main, {"services": FULL_ARGS}, check_mode=check_mode, diff=diff)
    assert "table" not in result and result["changed"]
    backend["backend"] = FakeBackend(FULL[:1])
    asked = run_module(ipvs_table.main, {"services": FULL_ARGS, "return_table": True}, check_mode=check_mode, diff=diff)
    assert asked["table"] == canonical(FULL)
    assert {k: v for k, v in asked.items() if k not in ("table", "invocation")} == {
        k: v for k, v in result.items() if k != "invocation"
    }
    if diff:
        assert result["diff"]["after"] == ipvs.table_text(asked["table"])


def test_no_diff_without_diff_mode(backend, run_module):
    backend["backend"] = FakeBackend([])
    assert "diff" not in run_module(ipvs_table.main, {"services": FULL_ARGS})


def test_changes_are_structured(backend, run_module):
    backend["backend"] = FakeBackend(FULL)
    args = copy.deepcopy(FULL_ARGS)
    args[0]["real_servers"][1]["weight"] = 2
    (chg,) = run_module(ipvs_table.main, {"services": args})["changes"]
    assert chg == {
        "action": "edit",
        "kind": "realserver",
        "service": HTTP,
        "realserver": rs("192.0.2.22", weight=2),
        "description": "edit real server 192.0.2.22:80 of tcp 192.0.2.10:80: weight 1 -> 2",
        "rule": "-e -t 192.0.2.10:80 -r 192.0.2.22:80 -g -w 2 -x 0 -y 0",
    }


def test_dr_port_warns(backend, run_module):
    backend["backend"] = FakeBackend([])
    services = [dict(arg(HTTP), real_servers=[{"address": "192.0.2.21", "port": 8080}])]
    table_after = run_module(ipvs_table.main, {"services": services, "return_table": True})["table"]
    assert table_after[0]["realservers"][0]["port"] == 80
    rs_params = dict({k: v.get("default") for k, v in ipvs.REALSERVER_SPEC.items()}, address="192.0.2.21", port=8080)
    warnings = ipvs.realserver_from_params(rs_params, HTTP, where="services[0].real_servers[0].")[1]
    assert warnings == [
        (
            "services[0].real_servers[0].port: 8080 is not used with forwarding=dr: the real server keeps the "
            "destination port of the packet, so its port is the service port 80"
        )
    ]


# ---- the ipvsadm -R text ------------------------------------------------------------------------------

KINDS = table(
    (HTTP, [rs("192.0.2.21", weight=3)]),
    (
        service_record(
            "udp", "2001:db8::10", 53, scheduler="rr", one_packet=True, persistence_timeout=120, persistence_netmask=64
        ),
        [rs("2001:db8::21", 5353, forwarding="nat", upper_threshold=50, lower_threshold=5)],
    ),
    (service_record("sctp", "192.0.2.12", 3868, scheduler="mh", sched_flags=["mh-fallback", "mh-port"]), []),
    (
        service_record("tcp", "192.0.2.11", 0, scheduler="lc", persistence_timeout=300, persistence_netmask=24),
        [rs("192.0.2.31", 0, forwarding="tunnel", weight=0)],
    ),
    (FWM6, [rs("2001:db8::23", 0)]),
)
KINDS_RULES = """\
-A -t 192.0.2.10:80 -s wrr
-a -t 192.0.2.10:80 -r 192.0.2.21:80 -g -w 3 -x 0 -y 0
-A -u [2001:db8::10]:53 -s rr -p 120 -M 64 -o
-a -u [2001:db8::10]:53 -r [2001:db8::21]:5353 -m -w 1 -x 50 -y 5
-A --sctp-service 192.0.2.12:3868 -s mh -b mh-fallback,mh-port
-A -t 192.0.2.11:0 -s lc -p 300 -M 255.255.255.0
-a -t 192.0.2.11:0 -r 192.0.2.31:0 -i -w 0 -x 0 -y 0
-A -f 7 -6 -s sh -b sh-port
-a -f 7 -6 -r [2001:db8::23]:0 -g -w 1 -x 0 -y 0
"""


def test_rules_text_of_every_kind():
    assert ipvs.rules_text(KINDS) == KINDS_RULES


def test_rules_text_reads_back_as_the_same_table():
    assert ipvs.parse_ipvsadm_save(ipvs.rules_text(KINDS)) == KINDS


@pytest.mark.parametrize(
    ("chg", "line"),
    [
        (ipvs.change("edit", HTTPS), "-E -t 192.0.2.10:443 -s wlc -p 600 -M 255.255.255.0"),
        (ipvs.change("delete", HTTPS), "-D -t 192.0.2.10:443"),
        (ipvs.change("delete", FWM6), "-D -f 7 -6"),
        (
            ipvs.change("edit", DNS6, rs("2001:db8::21", 53, weight=4)),
            "-e -u [2001:db8::10]:53 -r [2001:db8::21]:53 -g -w 4 -x 0 -y 0",
        ),
        (ipvs.change("delete", FWM, rs("192.0.2.23", 0)), "-d -f 7 -r 192.0.2.23:0"),
    ],
)
def test_change_lines(chg, line):
    assert ipvs.ipvsadm_line(chg) == line


def test_the_rules_have_no_comment_or_empty_line():
    """ipvsadm -R stops at a comment line (exit code 255, nothing after it applied): rule lines only."""
    assert all(line.startswith(("-A ", "-a ")) for line in ipvs.rules_text(KINDS).splitlines())
    assert ipvs.rules_text([]) == ""


# ---- the backends apply a batch in one go --------------------------------------------------------------


def test_ipvsadm_backend_feeds_the_changes_to_one_restore(monkeypatch, run_module):
    calls = []

    def run_command(self, argv, environ_update=None, data=None, binary_data=False, **kwargs):
        calls.append((argv, data, binary_data))
        return (0, ipvs.rules_text(FULL[:1]) if argv[1:] == ["-S", "-n"] else "", "")

    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(ipvs_table, "get_backend", lambda m, choice: ipvs.IpvsadmBackend(m, "/usr/sbin/ipvsadm"))
    args = copy.deepcopy(FULL_ARGS[:2])
    args[0]["real_servers"][0]["weight"] = 1
    result = run_module(ipvs_table.main, {"services": args, "backend": "ipvsadm"})
    writes = [c for c in calls if c[0][1:] not in (["-S", "-n"], ["-L", "-n", "--thresholds"])]
    assert writes == [
        (
            ["/usr/sbin/ipvsadm", "-R"],
            "".join(f"{c['rule']}\n" for c in result["changes"]),
            True,
        )
    ]
    assert [c["rule"] for c in result["changes"]] == [
        "-A -t 192.0.2.10:443 -s wlc -p 600 -M 255.255.255.0",
        "-e -t 192.0.2.10:80 -r 192.0.2.21:80 -g -w 1 -x 0 -y 0",
        "-a -t 192.0.2.10:443 -r 192.0.2.21:443 -g -w 1 -x 0 -y 0",
        "-a -t 192.0.2.10:443 -r 192.0.2.22:443 -g -w 1 -x 0 -y 0",
    ]


def test_ipvsadm_backend_runs_only_reads_when_nothing_changes(monkeypatch, run_module):
    calls = []

    def run_command(self, argv, environ_update=None, data=None, **kwargs):
        calls.append(argv[1:])
        if argv[1:] == ["-S", "-n"]:
            return (0, ipvs.rules_text(FULL[:1]), "")
        if argv[1:] == ["-L", "-n", "--thresholds"]:
            return (0, "", "")
        return (1, "", "not expected")

    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(ipvs_table, "get_backend", lambda m, choice: ipvs.IpvsadmBackend(m, "/usr/sbin/ipvsadm"))
    result = run_module(ipvs_table.main, {"services": FULL_ARGS[:1]})
    assert (result["changed"], result["changes"]) == (False, [])
    assert calls == [["-S", "-n"], ["-L", "-n", "--thresholds"]]


@pytest.mark.parametrize(
    ("rc", "stderr", "message"),
    [
        # ipvsadm 1.31 goes on after a refused line and exits with the status of the last one (lab kernel 6.1)
        (0, "Service not defined\n", "ipvsadm: Service not defined"),
        (1, "Service not defined\n", "ipvsadm: Service not defined"),
        (0, "Scheduler or persistence engine not found\n", "the kernel refused the scheduler"),
    ],
)
def test_failed_restore_carries_the_command_and_the_plan(rc, stderr, message, monkeypatch, run_module):
    def run_command(self, argv, environ_update=None, data=None, **kwargs):
        return (rc, "", stderr) if argv[1:] == ["-R"] else (0, "", "")

    monkeypatch.setattr(AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(ipvs_table, "get_backend", lambda m, choice: ipvs.IpvsadmBackend(m, "/usr/sbin/ipvsadm"))
    result = run_module(ipvs_table.main, {"services": FULL_ARGS[:1]})
    assert result["failed"]
    assert result["msg"].startswith("cannot apply 3 IPVS changes with ipvsadm -R (it goes on after a refused line): ")
    assert message in result["msg"]
    assert (result["cmd"], result["rc"], result["stdout"], result["stderr"]) == (
        ["/usr/sbin/ipvsadm", "-R"],
        rc,
        "",
        stderr,
    )
    assert len(result["changes"]) == 3


class KernelWrites:
    """A netlink socket that answers IPVS writes as the kernel does: the family, then an ack per request, an
    error (EEXIST) for the request numbered `refuse_at` (counted from 0). Requests are logged decoded."""

    IPVS_ID = 0x1B

    def __init__(self, refuse_at: int | None = None):
        self.refuse_at, self.requests, self.queue, self.closed = refuse_at, [], [], False

    @staticmethod
    def message(kind: int, seq: int, body: bytes) -> bytes:
        return ipvs.NLMSG_HEADER.pack(ipvs.NLMSG_HEADER.size + len(body), kind, 0, seq, 0) + body

    def send(self, data: bytes) -> None:
        _length, kind, flags, seq, _port = ipvs.NLMSG_HEADER.unpack_from(data)
        if kind == ipvs.GENL_ID_CTRL:
            family = ipvs.nla_encode(ipvs.CTRL_ATTR_FAMILY_ID, struct.pack("=H", self.IPVS_ID))
            self.queue.append(self.message(kind, seq, b"\1\2\0\0" + family))
            return
        assert (kind, flags) == (self.IPVS_ID, ipvs.NLM_F_REQUEST | ipvs.NLM_F_ACK)
        attrs = dict(ipvs.nla_items(data[ipvs.NLMSG_HEADER.size + 4 :]))
        svc = ipvs.nla_decode(attrs[ipvs.IPVS_CMD_ATTR_SERVICE], ipvs.SVC_ATTRS)
        dest = attrs.get(ipvs.IPVS_CMD_ATTR_DEST)
        dest = dest and ipvs.nla_decode(dest, ipvs.DEST_ATTRS)
        code = errno.EEXIST if len(self.requests) == self.refuse_at else 0
        if not code:
            self.requests.append((data[ipvs.NLMSG_HEADER.size], svc, dest))
        self.queue.append(self.message(ipvs.NLMSG_ERROR, seq, struct.pack("=i", -code) + data[:16]))

    def recv(self, size: int) -> bytes:
        return self.queue.pop(0)

    def close(self) -> None:
        self.closed = True


def netlink_backend(refuse_at=None):
    sockets = []

    def socket_factory():
        sockets.append(KernelWrites(refuse_at))
        return sockets[-1]

    return ipvs.NetlinkBackend(socket_factory), sockets


def test_netlink_backend_applies_a_batch_over_one_socket():
    backend, sockets = netlink_backend()
    changes = ipvs_table.plan([], ipvs.sort_table(copy.deepcopy(FULL)))
    backend.apply(changes)
    assert len(sockets) == 1 and sockets[0].closed
    requests = sockets[0].requests
    new_service, new_dest = (
        ipvs.IPVS_WRITE_COMMANDS[("add", "service")],
        ipvs.IPVS_WRITE_COMMANDS[("add", "realserver")],
    )
    assert [r[0] for r in requests] == [new_service] * 4 + [new_dest] * 6
    assert requests[0][1]["IPVS_SVC_ATTR_ADDR"] == "192.0.2.10" and requests[4][2]["IPVS_DEST_ATTR_WEIGHT"] == 3


def test_netlink_writes_are_what_the_read_decodes():
    """Every kind of service and real server (KINDS), added, edited and deleted: the kernel reads back from the
    request the same service and real server (decoded as the read decodes the kernel's own records)."""
    backend, sockets = netlink_backend()
    table = ipvs.sort_table(copy.deepcopy(KINDS))
    adds = ipvs_table.plan([], table)
    deletes = ipvs_table.plan(table, [], purge="all")
    edits = [dict(c, action="edit") for c in adds]
    backend.apply(adds + edits + deletes)
    requests = sockets[0].requests
    assert len(requests) == len(adds + edits + deletes)
    for chg, (command, svc, dest) in zip(adds + edits + deletes, requests, strict=True):
        assert command == ipvs.IPVS_WRITE_COMMANDS[(chg["action"], chg["kind"])]
        if chg["kind"] == "service" and chg["action"] != "delete":
            assert ipvs.config_of(ipvs.service_from_nla(svc)) == chg["service"]
        else:  # a real server, or a service to delete: the service's key alone
            assert "IPVS_SVC_ATTR_SCHED_NAME" not in svc
            assert ipvs.service_key(ipvs.service_from_nla(dict(svc, IPVS_SVC_ATTR_SCHED_NAME="wlc"))) == (
                ipvs.service_key(chg["service"])
            )
        if chg["kind"] == "realserver":
            assert ipvs.config_of(ipvs.realserver_from_nla(dest)) == chg["realserver"]
        else:
            assert dest is None


@pytest.mark.parametrize(
    ("refuse_at", "message"),
    [
        (1, "cannot add service tcp 192.0.2.10:443: File exists (the change before it was applied)"),
        (2, "cannot add service udp [2001:db8::10]:53: File exists (the 2 changes before it were applied)"),
    ],
)
def test_netlink_failure_names_the_change_and_what_was_applied(refuse_at, message):
    backend, sockets = netlink_backend(refuse_at)
    with pytest.raises(ipvs.IPVSError) as failure:
        backend.apply(ipvs_table.plan([], ipvs.sort_table(copy.deepcopy(FULL))))
    assert failure.value.msg == message
    assert failure.value.cmd is None
    assert len(sockets) == 1 and len(sockets[0].requests) == refuse_at and sockets[0].closed


def test_netlink_single_change_message_is_unchanged():
    backend, _sockets = netlink_backend(refuse_at=0)
    with pytest.raises(ipvs.IPVSError, match=r"^cannot add service tcp 192.0.2.10:80: File exists$"):
        backend.add_service(HTTP)


# ---- the rules file ------------------------------------------------------------------------------------


def test_save_to_writes_the_listed_services_once(backend, run_module, tmp_path):
    path = tmp_path / "lvs-ha" / "ipvs.rules"
    backend["backend"] = FakeBackend(table((OTHER, [])))
    args = {"services": FULL_ARGS, "save_to": str(path)}
    check = run_module(ipvs_table.main, args, check_mode=True)
    assert check["saved"] == {"path": str(path), "changed": True} and not path.parent.exists()
    first = run_module(ipvs_table.main, args)
    assert first["saved"] == {"path": str(path), "changed": True}
    text = path.read_text()
    assert text == ipvs.rules_text(ipvs.sort_table(copy.deepcopy(FULL)))
    assert "192.0.2.99" not in text  # a service the task does not list is not saved
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary file left behind
    again = run_module(ipvs_table.main, args)
    assert (again["changed"], again["saved"]["changed"]) == (False, False)


def test_save_to_rewrites_only_a_changed_file(backend, run_module, tmp_path):
    path = tmp_path / "ipvs.rules"
    path.write_text("# by hand\n-A -t 192.0.2.10:80 -s rr\n")
    backend["backend"] = FakeBackend(FULL)
    check = run_module(ipvs_table.main, {"services": FULL_ARGS, "save_to": str(path)}, check_mode=True)
    assert (check["changed"], check["changes"], path.read_text()) == (
        True,
        [],
        "# by hand\n-A -t 192.0.2.10:80 -s rr\n",
    )
    os.chmod(path, 0o600)
    run_module(ipvs_table.main, {"services": FULL_ARGS, "save_to": str(path)})
    assert path.read_text() == ipvs.rules_text(ipvs.sort_table(copy.deepcopy(FULL)))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_save_to_fixes_the_mode_alone(backend, run_module, tmp_path):
    path = tmp_path / "ipvs.rules"
    backend["backend"] = FakeBackend(FULL)
    run_module(ipvs_table.main, {"services": FULL_ARGS, "save_to": str(path)})
    os.chmod(path, 0o600)
    result = run_module(ipvs_table.main, {"services": FULL_ARGS, "save_to": str(path)})
    assert result["changed"] and result["changes"] == []
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_the_director_roles_rules_file_marks_its_services_managed(backend, run_module, tmp_path):
    """The file the director role writes today (its template's format) is read for purge=managed."""
    path = tmp_path / "ipvs.rules"
    path.write_text(
        "#\n# Ansible managed\n#\n# The static IPVS table of this director\n"
        "-A -t 192.0.2.10:443 -s rr -p 600\n-a -t 192.0.2.10:443 -r 192.0.2.21:443 -g -w 1\n"
    )
    backend["backend"] = FakeBackend(FULL[:2] + table((OTHER, [])))
    result = run_module(ipvs_table.main, {"services": FULL_ARGS[:1], "save_to": str(path)})
    assert [c["description"] for c in result["changes"]] == ["delete service tcp 192.0.2.10:443"]


def test_an_unreadable_rules_file_fails_naming_it(backend, run_module, tmp_path):
    path = tmp_path / "ipvs.rules"
    path.write_text("-A -t not-an-address:80 -s rr\n")
    backend["backend"] = fake = FakeBackend(FULL)
    result = run_module(ipvs_table.main, {"services": FULL_ARGS, "save_to": str(path)})
    assert result["failed"] and result["msg"].startswith(f"save_to: {path} has a service line this module cannot read")
    assert fake.batches == []


# ---- bad input: named by entry and option, nothing read or written -------------------------------------

WEB = {"address": "192.0.2.10", "port": 80}
BAD = [
    ([dict(WEB, address="192.0.2.300")], "services[0].address: '192.0.2.300' is not an IPv4 or IPv6 address"),
    ([WEB, dict(WEB, port=65536)], "services[1].port: 65536 is outside 1..65535"),
    ([dict(WEB, port=0)], "services[0].port: 0 (all ports) needs persistence_timeout"),
    ([{"fwmark": 0}], "services[0].fwmark: 0 is outside 1..4294967295"),
    ([dict(WEB, family="ipv6")], "services[0].family: ipv6 does not match address 192.0.2.10"),
    ([dict(WEB, persistence_netmask=24)], "services[0].persistence_netmask needs persistence_timeout"),
    (
        [{"address": "2001:db8::1", "port": 80, "persistence_timeout": 60, "persistence_netmask": 129}],
        "services[0].persistence_netmask: 129 is outside 1..128 for an ipv6 service",
    ),
    ([dict(WEB, persistence_timeout=-5)], "services[0].persistence_timeout: -5 is outside 0..4294967295"),
    ([dict(WEB, scheduler="rr", sched_flags=["sh-port"])], "services[0].sched_flags: sh-port applies to scheduler sh"),
    ([WEB, WEB], "services[1]: tcp 192.0.2.10:80 is listed twice (also services[0])"),
    ([{"fwmark": 7}, {"fwmark": 7, "family": "ipv4"}], "services[1]: fwmark 7 (ipv4) is listed twice"),
    ([dict(WEB, real_servers=[{"address": "web1"}])], "services[0].real_servers[0].address: 'web1' is not an IPv4"),
    (
        [
            WEB,
            WEB | {"port": 81},
            {"fwmark": 3},
            WEB | {"port": 82, "real_servers": [{"address": "192.0.2.21"}, {"address": "192.0.2.22", "weight": 70000}]},
        ],
        "services[3].real_servers[1].weight: 70000 is outside 0..65535",
    ),
    (
        [dict(WEB, real_servers=[{"address": "192.0.2.21", "weight": -1}])],
        "services[0].real_servers[0].weight: -1 is outside",
    ),
    (
        [dict(WEB, real_servers=[{"address": "192.0.2.21", "upper_threshold": 2**31}])],
        "services[0].real_servers[0].upper_threshold: 2147483648 is outside 0..2147483647",
    ),
    (
        [dict(WEB, real_servers=[{"address": "192.0.2.21", "lower_threshold": -1}])],
        "services[0].real_servers[0].lower_threshold: -1 is outside",
    ),
    (
        [dict(WEB, real_servers=[{"address": "192.0.2.21", "port": 70000, "forwarding": "nat"}])],
        "services[0].real_servers[0].port: 70000 is outside 1..65535",
    ),
    (
        [dict(WEB, real_servers=[{"address": "2001:db8::21"}])],
        "services[0].real_servers[0].forwarding: dr needs a real server of the service's address family (ipv4)",
    ),
    (
        [{"fwmark": 9, "real_servers": [{"address": "192.0.2.22", "forwarding": "nat"}]}],
        "services[0].real_servers[0].port: required with forwarding=nat when the service has no port",
    ),
    (
        [dict(WEB, real_servers=[{"address": "192.0.2.21"}, {"address": "192.0.2.21", "port": 8080}])],
        "services[0].real_servers[1]: 192.0.2.21:80 is listed twice in tcp 192.0.2.10:80 (also real_servers[0])",
    ),
    # what the argument spec refuses (ansible-core's words: the option, and where it was found)
    ([dict(WEB, scheduler="fastest")], "value of scheduler must be one of"),
    ([dict(WEB, fwmark=3)], "parameters are mutually exclusive: fwmark|address"),
    ([{"address": "192.0.2.10"}], "parameters are required together: address, port found in services"),
    ([{"scheduler": "rr"}], "one of the following is required: fwmark, address found in services"),
    (
        [dict(WEB, real_servers=[{"weight": 2}])],
        "missing required arguments: address found in services -> real_servers",
    ),
    (
        [dict(WEB, real_servers=[{"address": "192.0.2.21", "forwarding": "masq"}])],
        "value of forwarding must be one of: dr, nat, tunnel",
    ),
    ([dict(WEB, weight=3)], "Unsupported parameters"),
]


@pytest.mark.parametrize(("services", "message"), BAD, ids=[bad[1] for bad in BAD])
def test_bad_input(services, message, backend, run_module, monkeypatch):
    backend["backend"] = fake = FakeBackend(FULL)
    reads = []
    monkeypatch.setattr(fake, "read", lambda counters=False: reads.append(1) or [])
    result = run_module(ipvs_table.main, {"services": services})
    assert result["failed"]
    assert message in result["msg"]
    assert (reads, fake.batches, fake.writes) == ([], [], [])
    assert not {"cmd", "rc", "stdout", "stderr"} & set(result)


def test_bad_purge_mode(backend, run_module):
    backend["backend"] = FakeBackend([])
    result = run_module(ipvs_table.main, {"services": [], "purge": "yes"})
    assert result["failed"] and "value of purge must be one of: managed, all, none" in result["msg"]

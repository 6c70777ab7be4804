# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import realserver_record, service_record
from ansible_collections.lvs.ha.plugins.modules import ipvs_realserver
from ansible_collections.lvs.ha.tests.unit.plugins.modules.ipvs_fakes import FakeBackend

HTTP = service_record("tcp", "192.0.2.10", 80, scheduler="wrr")
HTTP6 = service_record("tcp", "2001:db8::10", 80)
FWM = service_record(fwmark=9, family="ipv4", scheduler="rr")
RS21 = realserver_record("192.0.2.21", 80, weight=3)
RS21_QUIET = realserver_record("192.0.2.21", 80, weight=0, upper_threshold=100, lower_threshold=10)
NAT = realserver_record("198.51.100.5", 8080, "nat")
TUN6 = realserver_record("192.0.2.31", 80, "tunnel")
FWM_RS = realserver_record("192.0.2.22", 0)

DEFAULTS = {k: v.get("default") for k, v in ipvs_realserver.ARGUMENT_SPEC.items()}
ON_HTTP = {"service_address": "192.0.2.10", "service_port": 80}
ON_HTTP6 = {"service_address": "2001:db8::10", "service_port": 80}


def table(*services):
    return [dict(svc, realservers=list(rss)) for svc, rss in services]


# (task arguments, table before, expected write or None)
SCENARIOS = {
    "add dr": (dict(ON_HTTP, address="192.0.2.21", weight=3), table((HTTP, [])), ("add_realserver", HTTP, RS21)),
    "add dr, already there": (dict(ON_HTTP, address="192.0.2.21", weight=3), table((HTTP, [RS21])), None),
    "dr with another port is normalised, already there": (
        dict(ON_HTTP, address="192.0.2.21", port=8080, weight=3),
        table((HTTP, [RS21])),
        None,
    ),
    "quiescent with thresholds": (
        dict(ON_HTTP, address="192.0.2.21", weight=0, upper_threshold=100, lower_threshold=10),
        table((HTTP, [RS21])),
        ("edit_realserver", HTTP, RS21_QUIET),
    ),
    "quiescent with thresholds, already there": (
        dict(ON_HTTP, address="192.0.2.21", weight=0, upper_threshold=100, lower_threshold=10),
        table((HTTP, [RS21_QUIET])),
        None,
    ),
    "nat to another port": (
        dict(ON_HTTP, address="198.51.100.5", port=8080, forwarding="nat"),
        table((HTTP, [RS21])),
        ("add_realserver", HTTP, NAT),
    ),
    "nat to another port, already there": (
        dict(ON_HTTP, address="198.51.100.5", port=8080, forwarding="nat"),
        table((HTTP, [NAT])),
        None,
    ),
    "tunnel across families": (
        dict(ON_HTTP6, address="192.0.2.31", forwarding="tunnel"),
        table((HTTP6, [])),
        ("add_realserver", HTTP6, TUN6),
    ),
    "tunnel across families, already there": (
        dict(ON_HTTP6, address="192.0.2.31", forwarding="tunnel"),
        table((HTTP6, [TUN6])),
        None,
    ),
    "fwmark": ({"fwmark": 9, "address": "192.0.2.22"}, table((FWM, [])), ("add_realserver", FWM, FWM_RS)),
    "fwmark, already there": ({"fwmark": 9, "address": "192.0.2.22"}, table((FWM, [FWM_RS])), None),
    "remove": (
        dict(ON_HTTP, address="192.0.2.21", state="absent"),
        table((HTTP, [RS21])),
        ("delete_realserver", HTTP, realserver_record("192.0.2.21", 80)),
    ),
    "remove, already gone": (dict(ON_HTTP, address="192.0.2.21", state="absent"), table((HTTP, [NAT])), None),
    "remove, no service": (dict(ON_HTTP, address="192.0.2.21", state="absent"), table(), None),
}


@pytest.fixture
def backend(monkeypatch):
    holder = {}
    monkeypatch.setattr(ipvs_realserver, "get_backend", lambda module, choice: holder["backend"])
    return holder


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name, backend, run_module):
    args, before, write = SCENARIOS[name]
    backend["backend"] = fake = FakeBackend(before)
    result = run_module(ipvs_realserver.main, args, diff=True)
    assert result["changed"] is (write is not None)
    assert fake.writes == ([write] if write else [])


@pytest.mark.parametrize("name", SCENARIOS)
def test_check_mode_reads_but_never_writes(name, backend, run_module):
    args, before, write = SCENARIOS[name]
    backend["backend"] = fake = FakeBackend(before)
    result = run_module(ipvs_realserver.main, args, check_mode=True, diff=True)
    assert result["changed"] is (write is not None)
    assert fake.writes == []


def test_dr_port_warns_and_uses_the_service_port(backend, run_module):
    backend["backend"] = FakeBackend(table((HTTP, [])))
    result = run_module(ipvs_realserver.main, dict(ON_HTTP, address="192.0.2.21", port=8080, weight=3), diff=True)
    assert result["realserver"] == RS21
    assert result["diff"] == {"before": {}, "after": RS21}
    # (ansible-core emits a given warning text once per process, so the warning is checked on the function)
    params = dict(DEFAULTS, **ON_HTTP, address="192.0.2.21", port=8080, weight=3)
    service, rs, warnings = ipvs_realserver.desired_realserver(params)
    assert (service["port"], rs) == (80, RS21)
    assert warnings == [
        (
            "port: 8080 is not used with forwarding=dr: the real server keeps the destination port of "
            "the packet, so its port is the service port 80"
        )
    ]


BAD = [
    (dict(ON_HTTP, address="web1"), "address: 'web1' is not an IPv4 or IPv6 address"),
    (
        dict(ON_HTTP, service_address="192.0.2.999", address="192.0.2.21"),
        "service_address: '192.0.2.999' is not an IPv4 or IPv6 address",
    ),
    (dict(ON_HTTP, address="192.0.2.21", weight=65536), "weight: 65536 is outside 0..65535"),
    (dict(ON_HTTP, address="192.0.2.21", weight=-1), "weight: -1 is outside 0..65535"),
    (dict(ON_HTTP, address="192.0.2.21", port=70000, forwarding="nat"), "port: 70000 is outside 1..65535"),
    (dict(ON_HTTP, service_port=65536, address="192.0.2.21"), "service_port: 65536 is outside 0..65535"),
    (
        dict(ON_HTTP, address="2001:db8::21", forwarding="nat"),
        "forwarding: nat needs a real server of the service's address family (ipv4), but address 2001:db8::21 is ipv6",
    ),
    (dict(ON_HTTP, address="2001:db8::21"), "forwarding: dr needs a real server of the service's address family"),
    ({"fwmark": 9, "address": "192.0.2.22", "forwarding": "nat"}, "port: required with forwarding=nat"),
    (dict(ON_HTTP, fwmark=9, address="192.0.2.21"), "parameters are mutually exclusive: fwmark|service_address"),
    (dict(ON_HTTP, address="192.0.2.21", forwarding="masq"), "value of forwarding must be one of: dr, nat, tunnel"),
    (dict(ON_HTTP, service_port=81, address="192.0.2.21"), "service tcp 192.0.2.10:81 does not exist: create it"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input(args, message, backend, run_module):
    backend["backend"] = fake = FakeBackend(table((HTTP, [RS21])))
    result = run_module(ipvs_realserver.main, args)
    assert result["failed"]
    assert message in result["msg"]
    assert fake.writes == []

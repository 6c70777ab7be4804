# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import service_record
from ansible_collections.lvs.ha.plugins.modules import ipvs_service
from ansible_collections.lvs.ha.tests.unit.plugins.modules.ipvs_fakes import FakeBackend

HTTP = service_record("tcp", "192.0.2.10", 80, scheduler="wrr")
HTTP_SH = service_record(
    "tcp",
    "192.0.2.10",
    80,
    scheduler="sh",
    persistence_timeout=600,
    persistence_netmask=24,
    sched_flags=["sh-fallback", "sh-port"],
)
FWM6 = service_record(fwmark=7, family="ipv6", scheduler="fo")
UDP6 = service_record("udp", "2001:db8::10", 53, scheduler="rr", one_packet=True)


def table(*services):
    return [dict(s, realservers=[]) for s in services]


# ---- scenarios as data: a "changes" case and its "already there" twin --------------------------------
# (task arguments, table before, expected write or None)
SCENARIOS = {
    "create": ({"address": "192.0.2.10", "port": 80, "scheduler": "wrr"}, table(), ("add_service", HTTP)),
    "create, already there": ({"address": "192.0.2.10", "port": 80, "scheduler": "wrr"}, table(HTTP), None),
    "edit": (
        {
            "address": "192.0.2.10",
            "port": 80,
            "scheduler": "sh",
            "sched_flags": ["sh-port", "sh-fallback"],
            "persistence_timeout": 600,
            "persistence_netmask": 24,
        },
        table(HTTP),
        ("edit_service", HTTP_SH),
    ),
    "edit, already there": (
        {
            "address": "192.0.2.10",
            "port": 80,
            "scheduler": "sh",
            "sched_flags": ["sh-fallback", "sh-port"],
            "persistence_timeout": 600,
            "persistence_netmask": 24,
        },
        table(HTTP_SH),
        None,
    ),
    "reset to defaults": (
        {"address": "192.0.2.10", "port": 80, "scheduler": "wrr"},
        table(HTTP_SH),
        ("edit_service", HTTP),
    ),
    "IPv6 address written another way, already there": (
        {"protocol": "udp", "address": "2001:DB8:0::10", "port": 53, "scheduler": "rr", "one_packet": True},
        table(UDP6),
        None,
    ),
    "fwmark IPv6": ({"fwmark": 7, "family": "ipv6", "scheduler": "fo"}, table(), ("add_service", FWM6)),
    "fwmark IPv6, already there": ({"fwmark": 7, "family": "ipv6", "scheduler": "fo"}, table(FWM6), None),
    "fwmark IPv4 is another service": (
        {"fwmark": 7, "scheduler": "fo"},
        table(FWM6),
        ("add_service", service_record(fwmark=7, family="ipv4", scheduler="fo")),
    ),
    "delete": (
        {"address": "192.0.2.10", "port": 80, "state": "absent"},
        table(HTTP),
        ("delete_service", service_record("tcp", "192.0.2.10", 80)),
    ),
    "delete an all-ports service without repeating its persistence": (
        {"address": "192.0.2.11", "port": 0, "state": "absent"},
        table(service_record("tcp", "192.0.2.11", 0, persistence_timeout=300)),
        ("delete_service", service_record("tcp", "192.0.2.11", 0)),
    ),
    "delete, already gone": ({"address": "192.0.2.10", "port": 80, "state": "absent"}, table(FWM6), None),
}


@pytest.fixture
def backend(monkeypatch):
    holder = {}

    def fake_get_backend(module, choice):
        return holder["backend"]

    monkeypatch.setattr(ipvs_service, "get_backend", fake_get_backend)
    return holder


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario(name, backend, run_module):
    args, before, write = SCENARIOS[name]
    backend["backend"] = fake = FakeBackend(before)
    result = run_module(ipvs_service.main, args, diff=True)
    assert result["changed"] is (write is not None)
    assert fake.writes == ([write] if write else [])
    if args.get("state") != "absent":
        assert result["diff"]["after"] == result["service"]
    else:
        assert result["service"] == {}


@pytest.mark.parametrize("name", SCENARIOS)
def test_check_mode_reads_but_never_writes(name, backend, run_module):
    args, before, write = SCENARIOS[name]
    backend["backend"] = fake = FakeBackend(before)
    result = run_module(ipvs_service.main, args, check_mode=True, diff=True)
    assert result["changed"] is (write is not None)
    assert fake.writes == []


def test_diff_is_structured(backend, run_module):
    backend["backend"] = FakeBackend(table(HTTP))
    result = run_module(ipvs_service.main, {"address": "192.0.2.10", "port": 80, "scheduler": "rr"}, diff=True)
    assert result["diff"]["before"] == HTTP
    assert result["diff"]["after"] == dict(HTTP, scheduler="rr")


# ---- bad input: a message naming the option, and the backend never reached ---------------------------

BAD = [
    ({"address": "192.0.2.300", "port": 80}, "address: '192.0.2.300' is not an IPv4 or IPv6 address"),
    ({"address": "www.example.org", "port": 80}, "address: 'www.example.org' is not an IPv4 or IPv6 address"),
    ({"address": "192.0.2.10", "port": 65536}, "port: 65536 is outside 1..65535"),
    ({"address": "192.0.2.10", "port": -1}, "port: -1 is outside 1..65535"),
    ({"address": "192.0.2.10", "port": 0}, "port: 0 (all ports) needs persistence_timeout"),
    ({"address": "192.0.2.10", "port": 80, "fwmark": 1}, "parameters are mutually exclusive: fwmark|address"),
    ({"address": "192.0.2.10", "port": 80, "scheduler": "fastest"}, "value of scheduler must be one of"),
    ({"address": "192.0.2.10"}, "parameters are required together: address, port"),
    ({"scheduler": "rr"}, "one of the following is required: fwmark, address"),
    ({"fwmark": 0}, "fwmark: 0 is outside 1..4294967295"),
    ({"address": "192.0.2.10", "port": 80, "family": "ipv6"}, "family: ipv6 does not match address 192.0.2.10"),
    ({"address": "192.0.2.10", "port": 80, "persistence_netmask": 24}, "persistence_netmask needs persistence_timeout"),
    (
        {"address": "2001:db8::1", "port": 80, "persistence_timeout": 60, "persistence_netmask": 129},
        "persistence_netmask: 129 is outside 1..128 for an ipv6 service",
    ),
    (
        {"address": "192.0.2.10", "port": 80, "scheduler": "mh", "sched_flags": ["sh-port"]},
        "sched_flags: sh-port applies to scheduler sh, not mh",
    ),
    ({"address": "192.0.2.10", "port": 80, "sched_flags": ["sh-bogus"]}, "value of sched_flags must be one or more"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input(args, message, backend, run_module):
    backend["backend"] = fake = FakeBackend(table(HTTP))
    result = run_module(ipvs_service.main, args)
    assert result["failed"]
    assert message in result["msg"]
    assert fake.writes == []


def test_port_zero_with_persistence_is_fine():
    svc = ipvs_service.desired_service(
        {
            "protocol": "tcp",
            "address": "192.0.2.11",
            "port": 0,
            "fwmark": None,
            "family": None,
            "scheduler": "lc",
            "persistence_timeout": 300,
            "persistence_netmask": None,
            "sched_flags": [],
            "one_packet": False,
            "state": "present",
        }
    )
    assert (svc["port"], svc["persistence_timeout"], svc["persistence_netmask"]) == (0, 300, 32)


@pytest.mark.parametrize(
    ("current", "state", "action"),
    [
        (None, "present", "add"),
        (HTTP, "present", None),
        (HTTP_SH, "present", "edit"),
        (dict(HTTP, realservers=[{"address": "192.0.2.21"}], stats={"connections": 5}), "present", None),
        (HTTP, "absent", "delete"),
        (None, "absent", None),
    ],
)
def test_plan(current, state, action):
    assert ipvs_service.plan(current, HTTP, state) == action

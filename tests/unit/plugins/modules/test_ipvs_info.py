# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import pytest
from ansible_collections.lvs.ha.plugins.module_utils.ipvs import realserver_record, service_record
from ansible_collections.lvs.ha.plugins.modules import ipvs_info
from ansible_collections.lvs.ha.tests.unit.plugins.modules.ipvs_fakes import FakeBackend

TABLE = [
    dict(service_record(fwmark=7, family="ipv4"), realservers=[]),
    dict(service_record("udp", "2001:db8::10", 53), realservers=[]),
    dict(
        service_record("tcp", "192.0.2.10", 80),
        realservers=[realserver_record("192.0.2.22", 80), realserver_record("192.0.2.21", 80)],
    ),
    dict(service_record("tcp", "192.0.2.10", 443), realservers=[]),
]


@pytest.fixture
def fake(monkeypatch):
    backend = FakeBackend(TABLE)
    monkeypatch.setattr(ipvs_info, "get_backend", lambda module, choice: backend)
    return backend


@pytest.mark.parametrize(
    ("args", "keys"),
    [
        ({}, [("tcp", "192.0.2.10", 80), ("tcp", "192.0.2.10", 443), ("udp", "2001:db8::10", 53), (None, None, None)]),
        ({"address": "192.0.2.10"}, [("tcp", "192.0.2.10", 80), ("tcp", "192.0.2.10", 443)]),
        ({"address": "192.0.2.10", "port": 443}, [("tcp", "192.0.2.10", 443)]),
        ({"address": "2001:db8:0:0::10", "port": 53, "protocol": "udp"}, [("udp", "2001:db8::10", 53)]),
        ({"address": "2001:db8::10", "port": 53}, []),
        ({"fwmark": 7}, [(None, None, None)]),
        ({"fwmark": 7, "family": "ipv6"}, []),
    ],
)
def test_filters_and_order(args, keys, fake, run_module):
    result = run_module(ipvs_info.main, args, check_mode=True)
    assert result["changed"] is False
    assert [(s["protocol"], s["address"], s["port"]) for s in result["services"]] == keys
    assert fake.writes == []


def test_real_servers_sorted(fake, run_module):
    http = run_module(ipvs_info.main, {"address": "192.0.2.10", "port": 80})["services"][0]
    assert [r["address"] for r in http["realservers"]] == ["192.0.2.21", "192.0.2.22"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"address": "not-an-ip"}, "address: 'not-an-ip' is not an IPv4 or IPv6 address"),
        ({"port": 80}, "missing parameter(s) required by 'port': address"),
        ({"fwmark": 7, "address": "192.0.2.10"}, "mutually exclusive: fwmark|address"),
    ],
)
def test_bad_input(args, message, fake, run_module):
    result = run_module(ipvs_info.main, args)
    assert result["failed"]
    assert message in result["msg"]

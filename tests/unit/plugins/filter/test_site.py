# SPDX-License-Identifier: GPL-3.0-or-later
"""The site model filters: a sound model passes; each fault gives one message naming its variable."""

from __future__ import annotations

import copy

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.lvs.ha.plugins.filter import site
from ansible_collections.lvs.ha.tests.unit.plugins.filter import edits

HOSTVARS = {
    "dr1": {"ansible_host": "192.168.100.201", "lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 100},
    "dr2": {"ansible_host": "192.168.100.202", "lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 90},
    "web1": {"ansible_host": "192.168.100.221"},
    "web2": {"ansible_host": "192.168.100.222"},
    "client": {"ansible_host": "192.168.100.50"},
}
DIRECTORS = ["dr1", "dr2"]
MODEL = {
    "lvs_subnet": "192.168.100.0/24",
    "lvs_vrrp": {"name": "VI_LVS", "virtual_router_id": 51, "advert_int": 1, "auth_pass": "lvs-lab1"},
    "lvs_services": [
        {
            "name": "web",
            "vip": "192.168.100.10",
            "port": 80,
            "protocol": "TCP",
            "scheduler": "rr",
            "forwarding": "dr",
            "persistence_timeout": 0,
            "delay_loop": 2,
            "check": {"type": "http_get", "path": "/health.html"},
            "real_servers": [{"host": "web1", "weight": 1}, {"host": "web2", "weight": 1}],
        }
    ],
}


def check(model=None, hostvars=None, directors=None):
    return site.site_check(model or MODEL, hostvars or HOSTVARS, DIRECTORS if directors is None else directors)


def with_change(path, value, base=None):
    """A deep copy of the model with one value replaced (path: keys and indexes)."""
    return edits.with_change(base or MODEL, path, value)


def test_sound_model_has_no_errors():
    assert check() == []


# (change to the model, words the single message must contain). Every field that reaches a generated file,
# with the values that would inject into it (newlines, braces, quotes, comment characters, '$', spaces) and
# out-of-range numbers and wrong types.
MODEL_FAULTS = [
    (("lvs_subnet",), "192.168.100.0/33", ["lvs_subnet:"]),
    (("lvs_subnet",), "192.168.100.7/24", ["lvs_subnet:", "host bits", "192.168.100.0/24"]),
    (("lvs_subnet",), 24, ["lvs_subnet:", "not a network"]),
    # service name: reaches a comment line of keepalived.conf
    (("lvs_services", 0, "name"), "web\n}\nvrrp_script x {", ["lvs_services[0].name:", "not allowed", "letters"]),
    (("lvs_services", 0, "name"), "web site", ["lvs_services[0].name:", "not allowed"]),
    (("lvs_services", 0, "name"), "web#1", ["lvs_services[0].name:"]),
    (("lvs_services", 0, "name"), 'web"', ["lvs_services[0].name:"]),
    (("lvs_services", 0, "name"), 42, ["lvs_services[0].name:", "not a string"]),
    (("lvs_services", 0, "vip"), "10.0.0.10", ["lvs_services[0].vip:", "outside lvs_subnet"]),
    (("lvs_services", 0, "vip"), "192.168.100.221", ["lvs_services[0].vip:", "web1"]),
    (("lvs_services", 0, "vip"), "not-an-ip", ["lvs_services[0].vip:", "not an IP"]),
    (("lvs_services", 0, "vip"), " 192.168.100.10", ["lvs_services[0].vip:", "spaces", "write 192.168.100.10"]),
    (("lvs_services", 0, "vip"), "192.168.100.10 }", ["lvs_services[0].vip:", "not an IP"]),
    (("lvs_services", 0, "vip"), "192.168.100.10/24", ["lvs_services[0].vip:", "not an IP"]),
    (("lvs_services", 0, "port"), 0, ["lvs_services[0].port:", "out of range"]),
    (("lvs_services", 0, "port"), 65536, ["lvs_services[0].port:"]),
    (("lvs_services", 0, "port"), "80", ["lvs_services[0].port:", "without quotes"]),
    (("lvs_services", 0, "port"), True, ["lvs_services[0].port:"]),
    (("lvs_services", 0, "port"), KeyError, ["lvs_services[0].port:", "missing"]),
    (("lvs_services", 0, "protocol"), "ICMP", ["lvs_services[0].protocol:"]),
    (("lvs_services", 0, "scheduler"), "fastest", ["lvs_services[0].scheduler:"]),
    (("lvs_services", 0, "scheduler"), "rr\n", ["lvs_services[0].scheduler:"]),
    (("lvs_services", 0, "forwarding"), "magic", ["lvs_services[0].forwarding:"]),
    (("lvs_services", 0, "persistence_timeout"), -1, ["lvs_services[0].persistence_timeout:"]),
    (("lvs_services", 0, "persistence_timeout"), 1.5, ["lvs_services[0].persistence_timeout:"]),
    (("lvs_services", 0, "persistence_netmask"), 33, ["lvs_services[0].persistence_netmask:", "longer"]),
    (("lvs_services", 0, "delay_loop"), 0, ["lvs_services[0].delay_loop:"]),
    (("lvs_services", 0, "delay_loop"), "2; rm", ["lvs_services[0].delay_loop:"]),
    (("lvs_services", 0, "check"), {"type": "ping"}, ["lvs_services[0].check.type:"]),
    (("lvs_services", 0, "check"), "tcp", ["lvs_services[0].check:", "not a mapping"]),
    (("lvs_services", 0, "check", "path"), "/health.html\n}", ["lvs_services[0].check.path:", "URL path"]),
    (("lvs_services", 0, "check", "path"), "/health page", ["lvs_services[0].check.path:"]),
    (("lvs_services", 0, "check", "path"), "/../etc/shadow", ["lvs_services[0].check.path:"]),
    (("lvs_services", 0, "check", "path"), "health.html", ["lvs_services[0].check.path:"]),
    (("lvs_services", 0, "check", "status_code"), 99, ["lvs_services[0].check.status_code:"]),
    (("lvs_services", 0, "check", "status_code"), "200 }", ["lvs_services[0].check.status_code:"]),
    (("lvs_services", 0, "check", "connect_timeout"), 0, ["lvs_services[0].check.connect_timeout:"]),
    (("lvs_services", 0, "check", "retry"), -1, ["lvs_services[0].check.retry:"]),
    (("lvs_services", 0, "check", "delay_before_retry"), "x", ["lvs_services[0].check.delay_before_retry:"]),
    (("lvs_services", 0, "check", "port"), 65536, ["lvs_services[0].check.port:"]),
    (("lvs_services", 0, "check", "interval"), 3, ["lvs_services[0].check.interval:", "unknown key"]),
    (("lvs_services", 0, "check"), {"type": "misc"}, ["lvs_services[0].check.script:", "missing"]),
    (("lvs_services", 0, "check"), {"type": "misc", "script": "/bin/check $(id)"}, ["lvs_services[0].check.script:"]),
    (("lvs_services", 0, "quorum"), 0, ["lvs_services[0].quorum:"]),
    (("lvs_services", 0, "sorry_server"), "nowhere", ["lvs_services[0].sorry_server:"]),
    (("lvs_services", 0, "sorry_server"), "192.168.100.99 80", ["lvs_services[0].sorry_server:"]),
    (("lvs_services", 0, "sorry_server_port"), 0, ["lvs_services[0].sorry_server_port:"]),
    (("lvs_services", 0, "weight"), 1, ["lvs_services[0].weight:", "unknown key"]),
    (("lvs_services", 0, "real_servers"), [], ["lvs_services[0].real_servers:"]),
    (
        ("lvs_services", 0, "real_servers", 1, "host"),
        "web9",
        ["lvs_services[0].real_servers[1].host:", "web9", "not in the inventory"],
    ),
    (("lvs_services", 0, "real_servers", 1, "host"), "web1", ["real_servers[1].host:", "twice"]),
    (("lvs_services", 0, "real_servers", 1, "host"), "web2\n", ["real_servers[1].host:", "not allowed"]),
    (("lvs_services", 0, "real_servers", 0, "host"), KeyError, ["real_servers[0].host:", "missing"]),
    (("lvs_services", 0, "real_servers", 0, "weight"), 65536, ["real_servers[0].weight:"]),
    (("lvs_services", 0, "real_servers", 0, "weight"), -1, ["real_servers[0].weight:"]),
    (("lvs_services", 0, "real_servers", 0, "weight"), "1 }", ["real_servers[0].weight:"]),
    (("lvs_services", 0, "real_servers", 0, "port"), 70000, ["real_servers[0].port:"]),
    (("lvs_services", 0, "real_servers", 0, "port"), 8080, ["real_servers[0].port:", "direct routing"]),
    (("lvs_services", 0, "real_servers", 0, "address"), "10.0.0.1", ["real_servers[0].address:", "unknown key"]),
    (("lvs_services",), [], ["lvs_services:"]),
    (("lvs_vrrp", "name"), "VI_1 {", ["lvs_vrrp.name:"]),
    (("lvs_vrrp", "name"), "VI_1\n}", ["lvs_vrrp.name:"]),
    (("lvs_vrrp", "virtual_router_id"), 0, ["lvs_vrrp.virtual_router_id:"]),
    (("lvs_vrrp", "virtual_router_id"), 256, ["lvs_vrrp.virtual_router_id:"]),
    (("lvs_vrrp", "virtual_router_id"), "51", ["lvs_vrrp.virtual_router_id:"]),
    (("lvs_vrrp", "advert_int"), 0, ["lvs_vrrp.advert_int:"]),
    (("lvs_vrrp", "advert_int"), 0.5, ["lvs_vrrp.advert_int:", "whole number", "version 3"]),
    (("lvs_vrrp", "advert_int"), "1\n}", ["lvs_vrrp.advert_int:"]),
    (("lvs_vrrp", "auth_pass"), "much-too-long", ["lvs_vrrp.auth_pass:", "not shown"]),
    (("lvs_vrrp", "auth_pass"), "S3cret!", ["lvs_vrrp.auth_pass:", "not shown"]),
    (("lvs_vrrp", "auth_pass"), "pw#1", ["lvs_vrrp.auth_pass:"]),
    (("lvs_vrrp", "auth_pass"), "pw 1", ["lvs_vrrp.auth_pass:"]),
    (("lvs_vrrp", "auth_pass"), "pw$HOME", ["lvs_vrrp.auth_pass:"]),
    (("lvs_vrrp", "auth_pass"), 'pw"x', ["lvs_vrrp.auth_pass:"]),
    (("lvs_vrrp", "auth_pass"), 12345678, ["lvs_vrrp.auth_pass:"]),
    (("lvs_vrrp", "version"), 4, ["lvs_vrrp.version:"]),
    (("lvs_vrrp", "vip_label"), "eth0:0", ["lvs_vrrp.vip_label:", "ens33:"]),
    (("lvs_vrrp", "vip_label"), "ens33:0 }", ["lvs_vrrp.vip_label:"]),
    (("lvs_vrrp", "vip_label"), "ens33:lvs-vip-label", ["lvs_vrrp.vip_label:", "15 characters"]),
    (("lvs_vrrp", "preemption"), True, ["lvs_vrrp.preemption:", "unknown key"]),
    (("lvs_vrrp", "unicast"), "yes", ["lvs_vrrp.unicast:", "not true or false"]),
    (("lvs_vrrp", "unicast"), 1, ["lvs_vrrp.unicast:", "not true or false"]),
    (("lvs_vrrp", "garp"), 5, ["lvs_vrrp.garp:", "not a mapping"]),
    (("lvs_vrrp", "garp"), {"delay": 1}, ["lvs_vrrp.garp.delay:", "unknown key", "master_delay"]),
    (("lvs_vrrp", "garp"), {"master_delay": 4295}, ["lvs_vrrp.garp.master_delay:", "0..4294"]),
    (("lvs_vrrp", "garp"), {"master_delay": 1.5}, ["lvs_vrrp.garp.master_delay:", "0..4294"]),
    (("lvs_vrrp", "garp"), {"master_repeat": 0}, ["lvs_vrrp.garp.master_repeat:", "1..255"]),
    (("lvs_vrrp", "garp"), {"master_repeat": "3\n}"}, ["lvs_vrrp.garp.master_repeat:"]),
    (("lvs_vrrp", "garp"), {"master_refresh": 86401}, ["lvs_vrrp.garp.master_refresh:", "0..86400"]),
    (("lvs_vrrp", "track_interfaces"), "eth1", ["lvs_vrrp.track_interfaces:", "not a list"]),
    (("lvs_vrrp", "track_interfaces"), ["eth1"], ["lvs_vrrp.track_interfaces[0]:", "not a mapping"]),
    (("lvs_vrrp", "track_interfaces"), [{"name": "ens33"}], ["track_interfaces[0].name:", "tracks already"]),
    (("lvs_vrrp", "track_interfaces"), [{"name": "eth1 }"}], ["lvs_vrrp.track_interfaces[0].name:"]),
    (("lvs_vrrp", "track_interfaces"), [{"name": "eth1", "weight": 254}], ["track_interfaces[0].weight:"]),
    (("lvs_vrrp", "track_interfaces"), [{"weight": 10}], ["track_interfaces[0].name:", "missing"]),
    (("lvs_vrrp", "track_interfaces"), [{"name": "eth1"}] * 2, ["track_interfaces[1].name:", "twice"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "chk"}], ["lvs_vrrp.track_scripts[0].script:", "missing"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "chk", "script": "chk.sh"}], ["track_scripts[0].script:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x y"}], ["track_scripts[0].script:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": '/bin/x"'}], ["track_scripts[0].script:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/$x"}], ["track_scripts[0].script:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/etc/../x"}], ["track_scripts[0].script:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c {", "script": "/bin/x"}], ["track_scripts[0].name:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x", "interval": 0}], ["[0].interval:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x", "timeout": 4295}], ["[0].timeout:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x", "weight": -254}], ["[0].weight:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x", "rise": 0}], ["[0].rise:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x", "fall": "2"}], ["[0].fall:"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x", "user": "root"}], ["[0].user:", "unknown"]),
    (("lvs_vrrp", "track_scripts"), [{"name": "c", "script": "/bin/x"}] * 2, ["track_scripts[1].name:", "twice"]),
    (("lvs_vrrp", "notify"), "/bin/x", ["lvs_vrrp.notify:", "not a mapping"]),
    (("lvs_vrrp", "notify"), {"master": "/usr/local/bin/x --flag"}, ["lvs_vrrp.notify.master:", "absolute path"]),
    (("lvs_vrrp", "notify"), {"backup": "notify.sh"}, ["lvs_vrrp.notify.backup:"]),
    (("lvs_vrrp", "notify"), {"fault": "/bin/x\n}"}, ["lvs_vrrp.notify.fault:"]),
    (("lvs_vrrp", "notify"), {"stop": "/bin/x#"}, ["lvs_vrrp.notify.stop:"]),
    (("lvs_vrrp", "notify"), {"any": 1}, ["lvs_vrrp.notify.any:", "not a string"]),
    (("lvs_vrrp", "notify"), {"notify_master": "/bin/x"}, ["lvs_vrrp.notify.notify_master:", "unknown key"]),
    (("lvs_vrrp", "sync"), True, ["lvs_vrrp.sync:", "not a mapping"]),
    (("lvs_vrrp", "sync"), {"enabled": "yes"}, ["lvs_vrrp.sync.enabled:", "not true or false"]),
    (("lvs_vrrp", "sync"), {"enabled": True, "id": 256}, ["lvs_vrrp.sync.id:", "0..255"]),
    (("lvs_vrrp", "sync"), {"enabled": True, "id": "7"}, ["lvs_vrrp.sync.id:", "without quotes"]),
    (("lvs_vrrp", "sync"), {"enabled": True, "interface": "ens33 VI_X"}, ["lvs_vrrp.sync.interface:"]),
    (("lvs_vrrp", "sync"), {"enabled": True, "port": 8848}, ["lvs_vrrp.sync.port:", "unknown key"]),
    (("lvs_vrrp", "preempt"), "no", ["lvs_vrrp.preempt:", "not true or false"]),
    (("lvs_vrrp", "preempt"), False, ["lvs_vrrp.preempt:", "initial state is MASTER", "host_vars/dr1 to BACKUP"]),
    (("lvs_vrrp", "preempt_delay"), 1001, ["lvs_vrrp.preempt_delay:", "from 0 to 1000"]),
    (("lvs_vrrp", "preempt_delay"), -1, ["lvs_vrrp.preempt_delay:", "from 0 to 1000"]),
    (("lvs_vrrp", "preempt_delay"), "30", ["lvs_vrrp.preempt_delay:", "from 0 to 1000"]),
    (("lvs_vrrp", "preempt_delay"), 30, ["lvs_vrrp.preempt_delay:", "initial state is MASTER"]),
    (("lvs_health_path",), "/health.html\nInclude /etc/shadow", ["lvs_health_path:"]),
    (("lvs_health_path",), "/checks/", ["lvs_health_path:"]),
]


@pytest.mark.parametrize(
    "path,value,words", MODEL_FAULTS, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v, _w in MODEL_FAULTS]
)
def test_each_fault_gives_one_message_naming_the_variable(path, value, words):
    errors = check(with_change(path, value))
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0]


def test_auth_pass_is_never_echoed():
    errors = check(with_change(("lvs_vrrp", "auth_pass"), "secret-too-long"))
    assert errors and not any("secret-too-long" in e for e in errors)


def test_auth_pass_with_vrrp_version_3_is_refused_without_echo():
    model = with_change(("lvs_vrrp", "version"), 3)
    model["lvs_vrrp"]["advert_int"] = 0.1
    errors = check(model)
    assert len(errors) == 1 and errors[0].startswith("lvs_vrrp.auth_pass: VRRP version 3")
    assert "RFC 5798" in errors[0] and "lvs-lab1" not in errors[0]
    del model["lvs_vrrp"]["auth_pass"]
    assert check(model) == []


def test_vrrp_version_3_allows_centisecond_adverts_only():
    model = with_change(("lvs_vrrp", "version"), 3)
    del model["lvs_vrrp"]["auth_pass"]
    for good in (0.01, 0.1, 1, 40.95):
        model["lvs_vrrp"]["advert_int"] = good
        assert check(model) == [], good
    for bad in (0.005, 41, 0.123, "0.1"):
        model["lvs_vrrp"]["advert_int"] = bad
        errors = check(model)
        assert len(errors) == 1 and errors[0].startswith("lvs_vrrp.advert_int:"), (bad, errors)


def test_nat_may_change_the_port():
    model = with_change(("lvs_services", 0, "forwarding"), "nat")
    model["lvs_services"][0]["real_servers"][0]["port"] = 8080
    assert check(model) == []


def test_page_text_and_interfaces_of_hosts_are_checked():
    hostvars = dict(
        HOSTVARS,
        web1=dict(HOSTVARS["web1"], lvs_page_text="<script>x</script>"),
        web2=dict(HOSTVARS["web2"], lvs_page_text="ok\nInclude x", lvs_realserver_interface="eth 0"),
        dr2=dict(HOSTVARS["dr2"], lvs_director_interface="ens33\n"),
    )
    errors = check(hostvars=hostvars)
    assert [e.split(":")[0] + ":" + e.split(":")[1] for e in errors] == [
        "web1: lvs_page_text",
        "web2: lvs_page_text",
        "web2: lvs_realserver_interface",
        "dr2: lvs_director_interface",
    ]


def test_one_vip_label_is_checked_against_each_interface():
    hostvars = dict(HOSTVARS, dr2=dict(HOSTVARS["dr2"], lvs_director_interface="eth1"))
    errors = check(with_change(("lvs_vrrp", "vip_label"), "ens33:0"), hostvars=hostvars)
    assert len(errors) == 1 and errors[0].startswith("lvs_vrrp.vip_label: 'ens33:0' is not allowed; write eth1:")
    assert "dr2 use eth1" in errors[0]
    assert check(hostvars=hostvars) == []


# ---- the address of a host on lvs_subnet (lvs_address, ansible_host, facts) ------------------------------

NET_FACTS = {"all_ipv4_addresses": ["10.0.0.21", "192.168.100.221"], "all_ipv6_addresses": []}


@pytest.mark.parametrize(
    "hv,address",
    [
        ({"lvs_address": "192.168.100.77", "ansible_host": "web1.mgmt.example.com"}, "192.168.100.77"),
        ({"lvs_address": "192.168.100.77", "ansible_host": "192.168.100.221"}, "192.168.100.77"),
        ({"ansible_host": "192.168.100.221"}, "192.168.100.221"),
        ({"ansible_host": "web1.mgmt.example.com", "ansible_facts": NET_FACTS}, "192.168.100.221"),
        ({"ansible_host": "10.0.0.21", "ansible_facts": NET_FACTS}, "192.168.100.221"),
        # a director holding the VIP, or a real server with the VIP on lo: the VIP is not its address
        (
            {
                "ansible_host": "10.0.0.21",
                "ansible_facts": {"all_ipv4_addresses": ["192.168.100.10", "192.168.100.201"]},
            },
            "192.168.100.201",
        ),
    ],
    ids=[
        "lvs_address over a name",
        "lvs_address over ansible_host",
        "ansible_host on the subnet",
        "facts for a name",
        "facts for an address elsewhere",
        "facts without the VIP",
    ],
)
def test_site_address_sources(hv, address):
    hostvars = {"web1": dict(hv, lvs_subnet="192.168.100.0/24", lvs_services=MODEL["lvs_services"])}
    assert site.site_address(hostvars, "web1") == address


@pytest.mark.parametrize(
    "hv,words",
    [
        (
            {"ansible_host": "web1.mgmt.example.com"},
            ["web1: no address on lvs_subnet", "no facts were gathered", "set lvs_address in host_vars/web1"],
        ),
        (
            {"ansible_host": "10.0.0.21", "ansible_facts": {"all_ipv4_addresses": ["10.0.0.21"]}},
            ["web1: no address on lvs_subnet", "none of its addresses (10.0.0.21)", "set lvs_address"],
        ),
        (
            {
                "ansible_host": "10.0.0.21",
                "ansible_facts": {"all_ipv4_addresses": ["192.168.100.221", "192.168.100.223"]},
            },
            ["web1: has several addresses on lvs_subnet", "192.168.100.221, 192.168.100.223", "set lvs_address"],
        ),
        ({"lvs_address": "10.0.0.21"}, ["web1: lvs_address 10.0.0.21 is outside lvs_subnet"]),
        ({"lvs_address": "web1.example.com"}, ["web1: lvs_address", "not an IP address"]),
        ({"lvs_address": " 192.168.100.221"}, ["web1: lvs_address", "not an IP address"]),
    ],
    ids=[
        "name without facts",
        "no address on the subnet",
        "two addresses",
        "lvs_address elsewhere",
        "lvs_address a name",
        "lvs_address with a space",
    ],
)
def test_site_address_errors_name_the_host_and_the_variable(hv, words):
    hostvars = dict(HOSTVARS, web1=hv)
    errors = check(hostvars=hostvars)
    assert errors[0].startswith("web1: ") and len(errors) == 2, errors
    for word in words:
        assert word in errors[0]
    assert errors[1].startswith("lvs_services[0].real_servers[0].host: web1 has no address on lvs_subnet")
    assert site.site_address(hostvars, "web1", "192.168.100.0/24") is None
    with pytest.raises(AnsibleFilterError, match="web1: "):
        site.site_services(MODEL["lvs_services"], hostvars, "192.168.100.0/24")


def test_director_outside_subnet():
    hostvars = dict(HOSTVARS, dr2=dict(HOSTVARS["dr2"], ansible_host="10.0.0.2"))
    errors = check(hostvars=hostvars)
    assert len(errors) == 1 and errors[0].startswith("dr2: no address on lvs_subnet 192.168.100.0/24")


def test_site_services_takes_addresses_from_lvs_address_and_facts():
    hostvars = dict(
        HOSTVARS,
        web1={"ansible_host": "web1.mgmt", "lvs_address": "192.168.100.121"},
        web2={"ansible_host": "10.0.0.22", "ansible_facts": {"all_ipv4_addresses": ["192.168.100.122"]}},
    )
    assert check(hostvars=hostvars) == []
    reals = site.site_services(MODEL["lvs_services"], hostvars, "192.168.100.0/24")[0]["real_servers"]
    assert [r["address"] for r in reals] == ["192.168.100.121", "192.168.100.122"]


def test_duplicate_service_key():
    model = copy.deepcopy(MODEL)
    model["lvs_services"].append(copy.deepcopy(model["lvs_services"][0]))
    errors = check(model)
    assert len(errors) == 1 and errors[0].startswith("lvs_services[1]: same protocol, vip and port")


# (dr1 vars, dr2 vars, words of the single message; None: sound)
VRRP_CASES = [
    (
        {"lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 100},
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 100},
        ["dr1: lvs_vrrp_priority 100", "not the highest"],
    ),
    (
        {"lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 90},
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 100},
        ["dr1:", "above every BACKUP"],
    ),
    (
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 100},
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 100},
        ["0 MASTER and equal priorities"],
    ),
    (
        {"lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 100},
        {"lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 100},
        ["2 MASTER and equal priorities"],
    ),
    (
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 100},
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 90},
        None,
    ),
    (
        {"lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 256},
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 90},
        ["dr1: lvs_vrrp_priority 256 is not in 1..255", "host_vars/dr1"],
    ),
    (
        {"lvs_vrrp_state": "master", "lvs_vrrp_priority": 100},
        {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 90},
        ["dr1: lvs_vrrp_state", "MASTER or BACKUP"],
    ),
    ({"lvs_vrrp_priority": 100}, {"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 90}, ["dr1: lvs_vrrp_state None"]),
]


@pytest.mark.parametrize("dr1,dr2,words", VRRP_CASES)
def test_vrrp_roles(dr1, dr2, words):
    hostvars = dict(
        HOSTVARS, dr1=dict(dr1, ansible_host="192.168.100.201"), dr2=dict(dr2, ansible_host="192.168.100.202")
    )
    errors = check(hostvars=hostvars)
    if words is None:
        assert errors == []
        return
    assert len(errors) == 1, errors
    for word in words:
        assert word in errors[0]


def test_unicast_peers_are_the_other_directors():
    model = with_change(("lvs_vrrp", "unicast"), True)
    assert check(model) == []
    assert site.site_peers(HOSTVARS, "dr1", DIRECTORS) == ["192.168.100.202"]
    assert site.site_peers(HOSTVARS, "dr2", DIRECTORS) == ["192.168.100.201"]
    hostvars = dict(HOSTVARS, dr3={"ansible_host": "dr3.mgmt", "lvs_address": "192.168.100.203"})
    assert site.site_peers(hostvars, "dr1", ["dr1", "dr2", "dr3"]) == ["192.168.100.202", "192.168.100.203"]
    with pytest.raises(AnsibleFilterError, match="site_peers: director dr3 has no address"):
        site.site_peers(dict(HOSTVARS, dr3={"ansible_host": "dr3.mgmt"}), "dr1", ["dr1", "dr3"])


ALL_BACKUP = dict(HOSTVARS, dr1=dict(HOSTVARS["dr1"], lvs_vrrp_state="BACKUP"))


@pytest.mark.parametrize(
    "vrrp,errors",
    [
        ({"preempt": False}, []),
        ({"preempt_delay": 30}, []),
        ({"preempt_delay": 4.5, "preempt": True}, []),
        (
            {"preempt": False, "preempt_delay": 30},
            ["lvs_vrrp.preempt_delay: 30 has no effect without preemption (lvs_vrrp.preempt); leave it out or 0"],
        ),
    ],
    ids=["nopreempt", "delay", "fractional delay", "both"],
)
def test_preemption_needs_every_director_backup(vrrp, errors):
    model = copy.deepcopy(MODEL)
    model["lvs_vrrp"].update(vrrp)
    assert check(model, hostvars=ALL_BACKUP) == errors


def test_unicast_needs_two_ipv4_directors():
    model = with_change(("lvs_vrrp", "unicast"), True)
    errors = check(model, directors=["dr1"])
    assert errors == ["lvs_vrrp.unicast: needs at least two directors to be peers (found 1)"]
    chk = site.rules.Checker()
    site._check_unicast(chk, DIRECTORS, {"dr1": "192.168.100.201", "dr2": "2001:db8::2"})
    assert chk.errors == ["lvs_vrrp.unicast: dr2's address 2001:db8::2 is not IPv4; unicast VRRP here is IPv4"]


def test_no_directors():
    assert check(directors=[]) == ["directors: no director hosts were given to the site check"]


def test_site_services_resolves_addresses_from_the_inventory():
    services = site.site_services(MODEL["lvs_services"], HOSTVARS)
    assert services == [
        {
            "name": "web",
            "vip": "192.168.100.10",
            "port": 80,
            "protocol": "TCP",
            "scheduler": "rr",
            "forwarding": "dr",
            "persistence_timeout": 0,
            "delay_loop": 2,
            "check": {"type": "http_get", "path": "/health.html"},
            "real_servers": [
                {"host": "web1", "address": "192.168.100.221", "port": 80, "weight": 1},
                {"host": "web2", "address": "192.168.100.222", "port": 80, "weight": 1},
            ],
        }
    ]


def test_site_services_defaults_and_optional_keys():
    services = site.site_services(
        [
            {
                "vip": "192.168.100.11",
                "port": 8080,
                "protocol": "tcp",
                "quorum": 1,
                "persistence_timeout": 300,
                "persistence_netmask": 24,
                "real_servers": [{"host": "web1", "weight": 3, "port": 8081}],
            }
        ],
        HOSTVARS,
    )
    assert services[0]["name"] == "192.168.100.11:8080"
    assert services[0]["protocol"] == "TCP" and services[0]["scheduler"] == "rr" and services[0]["quorum"] == 1
    assert services[0]["persistence_granularity"] == "255.255.255.0"
    assert services[0]["check"] == {"type": "tcp"}
    assert services[0]["real_servers"] == [{"host": "web1", "address": "192.168.100.221", "port": 8081, "weight": 3}]


def test_site_vips_of_a_real_server():
    services = copy.deepcopy(MODEL["lvs_services"]) + [
        {"vip": "192.168.100.9", "port": 443, "real_servers": [{"host": "web1"}]},
        {"vip": "192.168.100.10", "port": 443, "real_servers": [{"host": "web2"}]},
    ]
    assert site.site_vips(services, "web1") == ["192.168.100.9", "192.168.100.10"]
    assert site.site_vips(services, "web2") == ["192.168.100.10"]
    assert site.site_vips(services, "client") == []


def test_site_ports_of_a_real_server():
    services = copy.deepcopy(MODEL["lvs_services"]) + [
        {"vip": "192.168.100.10", "port": 8080, "real_servers": [{"host": "web1"}]},
        {"vip": "192.168.100.11", "port": 443, "forwarding": "nat", "real_servers": [{"host": "web1", "port": 8443}]},
    ]
    assert site.site_ports(services, "web1") == [80, 8080, 8443]
    assert site.site_ports(services, "web2") == [80]


def test_rollout_order_is_backups_by_priority_then_the_master():
    hostvars = dict(HOSTVARS, dr3={"lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 80})
    assert site.site_rollout_order(["dr1", "dr2", "dr3"], hostvars) == ["dr3", "dr2", "dr1"]


def test_filters_are_registered():
    assert set(site.FilterModule().filters()) == {
        "site_check",
        "site_address",
        "site_peers",
        "site_services",
        "site_vips",
        "site_ports",
        "site_interface",
        "site_rollout_order",
        "site_vrrp_instances",
        "site_vip_plan",
    }


def test_site_interface_from_the_variable_or_the_facts():
    facts = {
        "interfaces": ["lo", "mgmt-0", "ens33"],
        "lo": {"ipv4": {"address": "127.0.0.1"}},
        "mgmt_0": {"device": "mgmt-0", "ipv4": {"address": "10.0.0.21"}},
        "ens33": {"device": "ens33", "ipv4": {"address": "192.168.100.221"}},
    }
    hostvars = {"web1": {"ansible_facts": facts}}
    assert site.site_interface(hostvars, "web1", "192.168.100.221") == "ens33"
    assert site.site_interface(hostvars, "web1", "10.0.0.21") == "mgmt-0"
    hostvars["web1"]["lvs_realserver_interface"] = "bond0"
    assert site.site_interface(hostvars, "web1", "192.168.100.221") == "bond0"
    with pytest.raises(AnsibleFilterError, match="set lvs_realserver_interface in host_vars/web2"):
        site.site_interface({"web2": {"ansible_facts": facts}}, "web2", "192.168.100.222")

# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' own input checks: a role used without the site playbook refuses what the preflight refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.lvs.ha.plugins.filter import roles
from ansible_collections.lvs.ha.tests.unit.plugins.filter import edits

ROLES = Path(__file__).resolve().parents[4] / "roles"

SERVICE = {
    "name": "web",
    "vip": "192.168.100.10",
    "port": 80,
    "protocol": "TCP",
    "scheduler": "rr",
    "forwarding": "dr",
    "persistence_timeout": 0,
    "delay_loop": 2,
    "check": {"type": "http_get", "path": "/health.html"},
    "real_servers": [{"host": "web1", "address": "192.168.100.221", "port": 80, "weight": 1}],
}


def defaults(role):
    """The role's defaults with the templated ones given the values they take on host dr1 / web1."""
    values = yaml.safe_load((ROLES / role / "defaults/main.yml").read_text())
    for key, value in values.items():
        if isinstance(value, str) and "{{" in value:
            values[key] = {
                "director_router_id": "dr1",
                "director_vip_label": "ens33:0",
                "director_lvs_sync_id": 51,
                "director_lvs_sync_interface": "ens33",
                "realserver_page_text": "web1",
            }[key]
    return values


DIRECTOR = dict(
    defaults("director"),
    director_vips=["192.168.100.10"],
    director_services=[SERVICE],
    director_vrrp_auth_pass="lvs-lab1",
)
REALSERVER = dict(defaults("realserver"), realserver_vips=["192.168.100.10"])


def test_the_defaults_and_the_lab_input_are_sound():
    assert roles.director_check(DIRECTOR) == []
    # the name lvs.ha.site_services gives a service without one
    assert roles.director_check(dict(DIRECTOR, director_services=[dict(SERVICE, name="192.168.100.20:8080")])) == []
    assert roles.realserver_check(REALSERVER) == []


changed = edits.with_change


DIRECTOR_FAULTS = [
    (("director_interface",), "ens33 }", "director_interface:"),
    (("director_interface",), "a-very-long-interface", "director_interface:"),
    (("director_router_id",), "dr1\n}", "director_router_id:"),
    (("director_vrrp_instance_name",), "VI 1", "director_vrrp_instance_name:"),
    (("director_vrrp_state",), "master", "director_vrrp_state:"),
    (("director_vrrp_priority",), 256, "director_vrrp_priority:"),
    (("director_vrrp_virtual_router_id",), 0, "director_vrrp_virtual_router_id:"),
    (("director_vrrp_advert_int",), 0.5, "director_vrrp_advert_int:"),
    (("director_vrrp_auth_pass",), "S3cret!", "director_vrrp_auth_pass:"),
    (("director_vrrp_version",), 3, "director_vrrp_auth_pass: VRRP version 3"),
    (("director_vips", 0), "192.168.100.10 ", "director_vips[0]:"),
    (("director_vip_prefix",), 0, "director_vip_prefix:"),
    (("director_vip_prefix",), 64, "director_vip_prefix: 64 is longer than the IPv4 VIP"),
    (
        ("director_services", 0, "real_servers", 0, "address"),
        "2001:db8::21",
        "director_services[0].real_servers[0].address: 2001:db8::21 is IPv6 but the VIP",
    ),
    (("director_vip_label",), "lo:0", "director_vip_label:"),
    (("director_ipvs_manager",), "both", "director_ipvs_manager:"),
    (("director_check_delay_loop",), 0, "director_check_delay_loop:"),
    (("director_script_user",), "root; rm", "director_script_user:"),
    (("director_kernel_modules", 0), "ip_vs\nip_vs_wrr", "director_kernel_modules[0]:"),
    (("director_packages", 0), "keepalived=1:2", "director_packages[0]:"),
    (("director_sysctl_path",), "/etc/sysctl.d/x y.conf", "director_sysctl_path:"),
    (("director_keepalived_conf_path",), "keepalived.conf", "director_keepalived_conf_path:"),
    (("director_sysctl_extra",), {"net.ipv4.tcp_fin_timeout": "30\nkernel.x = 1"}, "director_sysctl_extra["),
    (("director_sysctl_extra",), {"net.ipv4 x": 1}, "director_sysctl_extra:"),
    (("director_services", 0, "name"), "web\n}", "director_services[0].name:"),
    (("director_services", 0, "vip"), "192.168.100.10 }", "director_services[0].vip:"),
    (("director_services", 0, "port"), 0, "director_services[0].port:"),
    (("director_services", 0, "check", "path"), "/x\n}", "director_services[0].check.path:"),
    (
        ("director_services", 0, "persistence_granularity"),
        "255.255.255.0 }",
        "director_services[0].persistence_granularity:",
    ),
    (("director_services", 0, "real_servers", 0, "address"), KeyError, "director_services[0].real_servers[0].address:"),
    (
        ("director_services", 0, "real_servers", 0, "address"),
        "192.168.100.221\n",
        "director_services[0].real_servers[0].address:",
    ),
    (("director_services", 0, "real_servers", 0, "port"), 81, "director_services[0].real_servers[0].port:"),
]


UNICAST = dict(
    DIRECTOR, director_vrrp_unicast_src_ip="192.168.100.201", director_vrrp_unicast_peers=["192.168.100.202"]
)
DIRECTOR_FAULTS += [
    (
        ("director_vrrp_unicast_peers",),
        "192.168.100.202",
        "director_vrrp_unicast_peers: '192.168.100.202' is not a list",
    ),
    (("director_vrrp_unicast_peers", 0), "192.168.100.202 }", "director_vrrp_unicast_peers[0]: "),
    (("director_vrrp_unicast_peers", 0), "2001:db8::2", "director_vrrp_unicast_peers[0]: '2001:db8::2' is not an IPv4"),
    (("director_vrrp_unicast_peers",), ["192.168.100.202"] * 2, "director_vrrp_unicast_peers[1]: 192.168.100.202 is"),
    (("director_vrrp_unicast_peers", 0), "192.168.100.201", "director_vrrp_unicast_peers[0]: 192.168.100.201 is this"),
    (("director_vrrp_unicast_peers",), [], "director_vrrp_unicast_src_ip: is only used with unicast peers"),
    (("director_vrrp_unicast_src_ip",), "192.168.100.201\n}", "director_vrrp_unicast_src_ip: "),
    (("director_vrrp_unicast_src_ip",), "2001:db8::1", "director_vrrp_unicast_src_ip: '2001:db8::1' is not an IPv4"),
]
DIRECTOR_FAULTS += [
    (("director_vrrp_preempt_delay",), 1000.5, "director_vrrp_preempt_delay: 1000.5 is not a number of seconds"),
    (("director_vrrp_preempt_delay",), "5", "director_vrrp_preempt_delay: '5' is not a number of seconds"),
    (("director_vrrp_preempt_delay",), True, "director_vrrp_preempt_delay: True is not a number"),
    (("director_vrrp_nopreempt",), "yes", "director_vrrp_nopreempt: 'yes' is not true or false"),
    (("director_vrrp_state",), "MASTER", "director_vrrp_preempt_delay: keepalived ignores it when the initial state"),
    (("director_vrrp_nopreempt",), True, "director_vrrp_preempt_delay: 10 has no effect without preemption"),
]
DIRECTOR_FAULTS += [
    (("director_vrrp_garp",), [1], "director_vrrp_garp: [1] is not a mapping"),
    (("director_vrrp_garp",), {"master_delay": -1}, "director_vrrp_garp.master_delay: -1 is out of range"),
    (("director_vrrp_garp",), {"master_repeat": 256}, "director_vrrp_garp.master_repeat: 256 is out of range"),
    (("director_vrrp_garp",), {"master_refresh": "60"}, "director_vrrp_garp.master_refresh: '60' is not"),
    (("director_vrrp_garp",), {"refresh": 60}, "director_vrrp_garp.refresh: unknown key"),
]
TRACKING = {
    "director_vrrp_track_interfaces": [{"name": "eth1", "weight": -20}],
    "director_vrrp_track_scripts": [{"name": "chk_web", "script": "/usr/local/bin/chk", "interval": 2}],
}
DIRECTOR_FAULTS += [
    (("director_vrrp_track_interfaces", 0, "name"), "ens33", "director_vrrp_track_interfaces[0].name: ens33 is the"),
    (("director_vrrp_track_interfaces", 0, "name"), "eth1\n}", "director_vrrp_track_interfaces[0].name: "),
    (("director_vrrp_track_interfaces", 0, "weight"), 300, "director_vrrp_track_interfaces[0].weight: 300"),
    (("director_vrrp_track_scripts", 0, "script"), "/usr/local/bin/chk arg", "director_vrrp_track_scripts[0].script:"),
    (("director_vrrp_track_scripts", 0, "script"), "/tmp/x;reboot", "director_vrrp_track_scripts[0].script:"),
    (("director_vrrp_track_scripts", 0, "name"), KeyError, "director_vrrp_track_scripts[0].name: missing"),
    (("director_vrrp_track_scripts", 0, "interval"), 0.5, "director_vrrp_track_scripts[0].interval:"),
    (("director_vrrp_track_scripts", 0, "weight"), 254, "director_vrrp_track_scripts[0].weight:"),
]
DIRECTOR_FAULTS += [
    (("director_vrrp_notify",), {"master": "/etc/keepalived/m.sh'"}, "director_vrrp_notify.master:"),
    (("director_vrrp_notify",), {"any": "/x/$(id)"}, "director_vrrp_notify.any:"),
    (("director_vrrp_notify",), {"up": "/x"}, "director_vrrp_notify.up: unknown key"),
]
DIRECTOR_FAULTS += [
    (("director_lvs_sync_enabled",), "true", "director_lvs_sync_enabled: 'true' is not true or false"),
    (("director_ipvs_expire_nodest_conn",), "1\n", "director_ipvs_expire_nodest_conn: '1\\n' is not true or false"),
    (("director_lvs_sync_id",), -1, "director_lvs_sync_id: -1 is out of range"),
    (("director_lvs_sync_interface",), "ens33 VI_2 id 9", "director_lvs_sync_interface: "),
]
ACTIVE_ACTIVE = [
    {"name": "VI_A", "virtual_router_id": 51, "state": "MASTER", "priority": 100, "vips": ["192.168.100.10"]},
    {"name": "VI_B", "virtual_router_id": 52, "state": "BACKUP", "priority": 90, "vips": ["192.168.100.11"]},
]
DIRECTOR_FAULTS += [
    (("director_vrrp_instances",), {"name": "VI_A"}, "director_vrrp_instances: {'name': 'VI_A'} is not a list"),
    (("director_vrrp_instances", 1, "name"), "VI_A", "director_vrrp_instances[1].name: VI_A is also"),
    (("director_vrrp_instances", 1, "name"), "VI B", "director_vrrp_instances[1].name: "),
    (("director_vrrp_instances", 1, "virtual_router_id"), 51, "director_vrrp_instances[1].virtual_router_id: 51 is"),
    (("director_vrrp_instances", 1, "virtual_router_id"), 0, "director_vrrp_instances[1].virtual_router_id: 0"),
    (("director_vrrp_instances", 1, "state"), "backup", "director_vrrp_instances[1].state: "),
    (("director_vrrp_instances", 1, "priority"), 256, "director_vrrp_instances[1].priority: 256"),
    (("director_vrrp_instances", 1, "vips"), [], "director_vrrp_instances[1].vips: must not be empty"),
    (("director_vrrp_instances", 1, "vips", 0), "192.168.100.10", "director_vrrp_instances[1].vips[0]: 192.168.100.10"),
    (("director_vrrp_instances", 1, "vips", 0), "192.168.100.11 }", "director_vrrp_instances[1].vips[0]: "),
    (("director_vrrp_instances", 1, "vips"), KeyError, "director_vrrp_instances[1].vips: missing"),
    (("director_vrrp_instances", 1, "weight"), 1, "director_vrrp_instances[1].weight: unknown key"),
]
BASES = {
    "director_vrrp_instances": dict(DIRECTOR, director_vrrp_instances=ACTIVE_ACTIVE),
    "director_vrrp_track": dict(DIRECTOR, **TRACKING),
    "director_vrrp_unicast": UNICAST,
    "director_vrrp_preempt_delay": dict(DIRECTOR, director_vrrp_preempt_delay=10),
    "director_vrrp_state": dict(DIRECTOR, director_vrrp_preempt_delay=10),
    "director_vrrp_nopreempt": dict(DIRECTOR, director_vrrp_preempt_delay=10),
}


def base_of(path):
    """The sound input a fault changes: the lab's, or one with the option's feature turned on."""
    return next((b for prefix, b in BASES.items() if str(path[0]).startswith(prefix)), DIRECTOR)


@pytest.mark.parametrize(
    "path,value,start", DIRECTOR_FAULTS, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v, _s in DIRECTOR_FAULTS]
)
def test_director_fault_gives_one_message_naming_the_variable(path, value, start):
    assert roles.director_check(base_of(path)) == []
    errors = roles.director_check(changed(base_of(path), path, value))
    assert len(errors) == 1 and errors[0].startswith(start), errors


def test_connection_sync_is_taken_with_one_instance_or_several():
    """The sync daemons run from the role's unit, not from keepalived.conf: nothing ties them to one instance."""
    assert roles.director_check(dict(DIRECTOR, director_lvs_sync_enabled=True)) == []
    active = dict(DIRECTOR, director_vrrp_instances=ACTIVE_ACTIVE, director_lvs_sync_enabled=True)
    assert roles.director_check(active) == []


REALSERVER_FAULTS = [
    (("realserver_vips", 0), "192.168.100.10\nExecStart=/bin/sh", "realserver_vips[0]:"),
    (("realserver_vips",), "192.168.100.10", "realserver_vips:"),
    (("realserver_vip_interface",), "lo:0", "realserver_vip_interface:"),
    (("realserver_vip_unit",), "lvs ha.service", "realserver_vip_unit:"),
    (("realserver_vip_unit",), "lvs-ha-vip", "realserver_vip_unit:"),
    (("realserver_arp_interfaces", 1), "lo\n", "realserver_arp_interfaces[1]:"),
    (("realserver_arp_ignore",), 4, "realserver_arp_ignore:"),
    (("realserver_arp_announce",), "2", "realserver_arp_announce:"),
    (("realserver_arp_sysctl_path",), "/etc/sysctl.d/../x.conf", "realserver_arp_sysctl_path:"),
    (("realserver_http_ports",), [], "realserver_http_ports:"),
    (("realserver_http_ports", 0), 80.5, "realserver_http_ports[0]:"),
    (("realserver_page_text",), "web\n<Directory />", "realserver_page_text:"),
    (("realserver_page_text",), "", "realserver_page_text:"),
    (("realserver_health_path",), "/health.html\nInclude x", "realserver_health_path:"),
    (("realserver_health_path",), "/", "realserver_health_path:"),
    (("realserver_health_text",), "<b>OK</b>", "realserver_health_text:"),
]


@pytest.mark.parametrize(
    "path,value,start", REALSERVER_FAULTS, ids=[f"{'.'.join(map(str, p))}={v!r}" for p, v, _s in REALSERVER_FAULTS]
)
def test_realserver_fault_gives_one_message_naming_the_variable(path, value, start):
    errors = roles.realserver_check(changed(REALSERVER, path, value))
    assert len(errors) == 1 and errors[0].startswith(start), errors


def test_active_active_preemption_needs_every_instance_backup():
    values = dict(DIRECTOR, director_vrrp_instances=ACTIVE_ACTIVE, director_vrrp_nopreempt=True)
    message = (
        "director_vrrp_nopreempt: keepalived ignores it when the initial state is MASTER; set "
        "director_vrrp_instances[0].state to BACKUP (the priorities elect the first MASTER)"
    )
    assert roles.director_check(values) == [message]
    backups = [dict(inst, state="BACKUP") for inst in ACTIVE_ACTIVE]
    assert roles.director_check(dict(values, director_vrrp_instances=backups)) == []
    values = dict(DIRECTOR, director_vips=[], director_vrrp_instances=ACTIVE_ACTIVE, director_vip_prefix=64)
    assert [e[:82] for e in roles.director_check(values)] == [
        "director_vip_prefix: 64 is longer than the IPv4 VIP director_vrrp_instances[0].vip",
        "director_vip_prefix: 64 is longer than the IPv4 VIP director_vrrp_instances[1].vip",
    ]


def test_auth_pass_never_appears_in_a_message():
    errors = roles.director_check(dict(DIRECTOR, director_vrrp_auth_pass="S3cret!#"))
    assert errors and not any("S3cret" in e for e in errors)


def test_only_a_mapping_is_checked():
    with pytest.raises(AnsibleFilterError, match="director_check"):
        roles.director_check(["director_interface"])
    assert set(roles.FilterModule().filters()) == {
        "director_check",
        "realserver_check",
        "director_table_diff",
        "realserver_vip_plan",
        "director_ipvs_table",
        "director_drained",
        "director_drain",
        "director_keepalived_weights",
        "director_vip_holders",
        "director_vip_holding",
        "director_handback",
    }


def test_table_diff_names_each_difference():
    kernel = [
        {
            "protocol": "tcp",
            "address": "192.168.100.10",
            "port": 80,
            "realservers": [
                {"address": "192.168.100.221", "port": 80, "weight": 2},
                {"address": "192.168.100.223", "port": 80, "weight": 1},
            ],
        },
        {"protocol": "udp", "address": "192.168.100.10", "port": 53, "realservers": []},
        {"protocol": None, "address": None, "port": None, "fwmark": 1, "realservers": []},
    ]
    services = [SERVICE, dict(SERVICE, port=443)]
    assert roles.director_table_diff(kernel, services) == [
        "TCP 192.168.100.10:80 -> 192.168.100.221:80: weight 2 in the kernel, 1 in the model",
        "TCP 192.168.100.10:80 -> 192.168.100.223:80: in the kernel but not in the model",
        "TCP 192.168.100.10:443: missing from the kernel",
        "UDP 192.168.100.10:53: in the kernel but not in the model",
    ]
    kernel[0]["realservers"] = [{"address": "192.168.100.221", "port": 80, "weight": 1}]
    assert roles.director_table_diff(kernel[:1], [SERVICE]) == []


def lo(*addresses):
    """ip -json addr show dev lo with these (address, label) pairs besides 127.0.0.1."""
    info = [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "label": "lo"}]
    info += [{"family": "inet", "local": a, "prefixlen": 32, "label": label} for a, label in addresses]
    return [{"ifname": "lo", "addr_info": info + [{"family": "inet6", "local": "::1", "prefixlen": 128}]}]


@pytest.mark.parametrize(
    "now,vips,present,absent",
    [
        ([], ["192.168.100.10"], [("192.168.100.10", "lo:0")], []),
        # adding a VIP keeps the label of the one there, the new one takes the next free number
        (
            [("192.168.100.10", "lo:0")],
            ["192.168.100.9", "192.168.100.10"],
            [("192.168.100.9", "lo:1"), ("192.168.100.10", "lo:0")],
            [],
        ),
        # removing one keeps the others' labels and removes it
        (
            [("192.168.100.9", "lo:1"), ("192.168.100.10", "lo:0")],
            ["192.168.100.9"],
            [("192.168.100.9", "lo:1")],
            ["192.168.100.10"],
        ),
        # an emptied list removes every address the role owns, never others on lo
        ([("192.168.100.10", "lo:0"), ("10.9.9.9", "lo:bgp"), ("10.9.9.8", "lo")], [], [], ["192.168.100.10"]),
        # a VIP someone put on lo without a label gets one; a freed number is taken again
        (
            [("192.168.100.11", "lo"), ("192.168.100.12", "lo:1")],
            ["192.168.100.11", "192.168.100.12"],
            [("192.168.100.11", "lo:0"), ("192.168.100.12", "lo:1")],
            [],
        ),
    ],
    ids=["first", "add one", "remove one", "emptied", "unlabelled"],
)
def test_vip_plan_keeps_labels_stable(now, vips, present, absent):
    plan = roles.realserver_vip_plan(lo(*now), vips, "lo")
    assert [(p["address"], p["label"]) for p in plan["present"]] == present
    assert plan["absent"] == absent


def test_vip_plan_ipv6_has_no_label():
    plan = roles.realserver_vip_plan(lo(), ["2001:db8::10"], "lo")
    assert plan == {"present": [{"address": "2001:db8::10", "prefix": 128, "label": None}], "absent": []}


def test_ipvs_table_takes_the_role_defaults():
    nat = {
        "vip": "192.168.100.10",
        "port": 8080,
        "protocol": "UDP",
        "scheduler": "wrr",
        "forwarding": "nat",
        "persistence_timeout": 300,
        "persistence_granularity": "255.255.255.0",
        "real_servers": [{"address": "10.0.0.1", "port": 80, "weight": 3}, {"address": "10.0.0.2"}],
    }
    assert roles.director_ipvs_table([SERVICE, nat]) == [
        {
            "protocol": "tcp",
            "address": "192.168.100.10",
            "port": 80,
            "scheduler": "rr",
            "persistence_timeout": 0,
            "real_servers": [{"address": "192.168.100.221", "forwarding": "dr", "weight": 1}],
        },
        {
            "protocol": "udp",
            "address": "192.168.100.10",
            "port": 8080,
            "scheduler": "wrr",
            "persistence_timeout": 300,
            "persistence_netmask": 24,
            "real_servers": [
                {"address": "10.0.0.1", "forwarding": "nat", "weight": 3, "port": 80},
                {"address": "10.0.0.2", "forwarding": "nat", "weight": 1, "port": 8080},
            ],
        },
    ]
    with pytest.raises(AnsibleFilterError, match=r"director_services\[0\].persistence_granularity"):
        roles.director_ipvs_table([dict(nat, persistence_granularity="255.0.255.0")])


def test_drained_list_is_addresses_one_a_line():
    text = "# drained by lvs.ha.drain\n192.168.100.221\n\n  2001:DB8::1  # web9\n192.168.100.221\n"
    assert roles.director_drained(text) == ["192.168.100.221", "2001:db8::1"]
    assert roles.director_drained("") == []
    with pytest.raises(AnsibleFilterError, match=r"/etc/lvs-ha/drained, line 2: 'web1; reboot'"):
        roles.director_drained("192.168.100.221\nweb1; reboot\n", "/etc/lvs-ha/drained")


def test_drain_sets_weight_zero_and_nothing_else():
    two = dict(SERVICE, real_servers=[{"address": "192.168.100.221", "weight": 3}, {"address": "192.168.100.222"}])
    drained = roles.director_drain([two], ["192.168.100.221"])
    reals = [{"address": "192.168.100.221", "weight": 0}, {"address": "192.168.100.222"}]
    assert drained == [dict(SERVICE, real_servers=reals)]
    assert two["real_servers"][0]["weight"] == 3
    assert roles.director_drain([two], []) == [two]
    assert roles.director_ipvs_table(drained)[0]["real_servers"][0]["weight"] == 0


def test_keepalived_weights_edits_only_the_weight_lines(tmp_path):
    from ansible_collections.lvs.ha.tests.unit.roles.render import render

    two = dict(SERVICE, real_servers=[{"address": "192.168.100.221", "weight": 3}, {"address": "192.168.100.222"}])
    udp = dict(two, protocol="UDP", port=53, check={"type": "tcp"})
    model = {"director_vips": ["192.168.100.10"], "director_vrrp_auth_pass": "lvs-lab1"}
    written = render("director", "etc/keepalived/keepalived.conf.j2", director_services=[two, udp], **model)
    drained = roles.director_drain([two, udp], ["192.168.100.221"])
    want = render("director", "etc/keepalived/keepalived.conf.j2", director_services=drained, **model)
    assert want != written
    assert roles.director_keepalived_weights(written, drained) == want
    assert roles.director_keepalived_weights(want, [two, udp]) == written
    with pytest.raises(AnsibleFilterError, match=r"TCP 192.168.100.10:443 -> 192.168.100.221:443"):
        roles.director_keepalived_weights(written, [dict(two, port=443)])


def test_vip_holders_names_what_is_wrong():
    vips = ["192.168.100.10", "192.168.100.11"]
    both = {"dr1": ["192.168.100.201", "192.168.100.10", "192.168.100.11"], "dr2": ["192.168.100.202"]}
    assert roles.director_vip_holders(both, vips) == []
    assert roles.director_vip_holders(both, vips, "dr1") == [
        "192.168.100.10 is still on dr1",
        "192.168.100.11 is still on dr1",
    ]
    split = {"dr1": ["192.168.100.10"], "dr2": ["192.168.100.10"], "dr3": []}
    assert roles.director_vip_holders(split, vips) == [
        "192.168.100.10 is on 2 directors (dr1, dr2), not one",
        "192.168.100.11 is on 0 directors (none), not one",
    ]
    with pytest.raises(AnsibleFilterError, match="mapping"):
        roles.director_vip_holders(["dr1"], vips)


def test_vip_holding_names_the_directors_with_any_of_the_vips():
    holdings = {"dr2": ["192.168.100.202", "2001:db8::10"], "dr1": ["192.168.100.201"], "dr3": ["192.168.100.11"]}
    assert roles.director_vip_holding(holdings, ["2001:db8:0::10", "192.168.100.11"]) == ["dr2", "dr3"]
    assert roles.director_vip_holding(holdings, ["192.168.100.10"]) == []
    with pytest.raises(AnsibleFilterError, match="mapping"):
        roles.director_vip_holding(["dr1"], [])


def _record(priority, vips=("192.168.100.10",), **more):
    return dict(
        {
            "priority_offset_path": "/run/lvs-ha-priority-offset",
            "vrrp_preempt": True,
            "vrrp_instances": [{"name": "VI_1", "priority": priority, "vips": list(vips)}],
        },
        **more,
    )


def test_handback_lowers_a_returning_director_just_under_the_holder():
    records = {"dr1": _record(100), "dr2": _record(90), "dr3": _record(80)}
    assert roles.director_handback(records, "dr1") == -11  # back at 89: BACKUP under dr2, above dr3
    assert roles.director_handback(records, "dr2") == 0  # would not take the VIPs back anyway


@pytest.mark.parametrize(
    "records",
    [
        {"dr1": _record(100, vrrp_preempt=False), "dr2": _record(90)},  # nopreempt: stays away until a failover
        {"dr1": _record(100, priority_offset_path=""), "dr2": _record(90)},  # an owner or active-active
        {"dr1": {"vips": ["192.168.100.10"]}, "dr2": _record(90)},  # a record written before 0.2.0
        {"dr1": _record(100), "dr2": {"vips": ["192.168.100.10"]}},  # the holder's priority is not known
        {"dr1": _record(100), "dr2": _record(90, vips=["192.168.100.11"])},  # nobody else carries its VIPs
        {"dr1": _record(100), "dr2": _record(100)},  # equal: no preemption
        {"dr1": _record(100), "dr2": _record(1)},  # nothing below 1
    ],
    ids=["nopreempt", "no offset file", "old record", "holder unknown", "other VIPs", "equal", "holder at 1"],
)
def test_handback_leaves_alone_a_director_that_would_not_or_cannot_be_lowered(records):
    assert roles.director_handback(records, "dr1") == 0


def test_handback_wants_the_records_with_the_host():
    with pytest.raises(AnsibleFilterError, match="'dr9'"):
        roles.director_handback({"dr1": _record(100)}, "dr9")

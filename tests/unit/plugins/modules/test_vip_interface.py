# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

import json

import pytest
from ansible_collections.lvs.ha.plugins.modules import vip_interface as vi

# Captured with iproute2 6.1.0 on Debian 12 (kernel 6.x) in a network namespace after
#   ip addr add 192.168.100.10/32 dev lo label lo:0; ip addr add 2001:db8::10/128 dev lo
#   ip addr add 192.168.100.20/24 dev ens33; ip addr add 192.168.100.21/32 dev ens33 label ens33:0
#   ip addr add 2001:db8:1::5/64 dev ens33 nodad
IP_JSON_LO = (
    '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue",'
    '"operstate":"UNKNOWN","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00",'
    '"broadcast":"00:00:00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,'
    '"scope":"host","label":"lo","valid_life_time":4294967295,"preferred_life_time":4294967295},'
    '{"family":"inet","local":"192.168.100.10","prefixlen":32,"scope":"global","label":"lo:0",'
    '"valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"2001:db8::10",'
    '"prefixlen":128,"scope":"global","valid_life_time":4294967295,"preferred_life_time":4294967295},'
    '{"family":"inet6","local":"::1","prefixlen":128,"scope":"host","valid_life_time":4294967295,'
    '"preferred_life_time":4294967295}]}]\n'
)
IP_JSON_ENS33 = (
    '[{"ifindex":3,"link":"ens33p","ifname":"ens33","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],'
    '"mtu":1500,"qdisc":"noqueue","operstate":"UP","group":"default","txqlen":1000,"link_type":"ether",'
    '"address":"ce:4f:96:9f:3c:74","broadcast":"ff:ff:ff:ff:ff:ff","addr_info":[{"family":"inet",'
    '"local":"192.168.100.20","prefixlen":24,"scope":"global","label":"ens33","valid_life_time":4294967295,'
    '"preferred_life_time":4294967295},{"family":"inet","local":"192.168.100.21","prefixlen":32,'
    '"scope":"global","label":"ens33:0","valid_life_time":4294967295,"preferred_life_time":4294967295},'
    '{"family":"inet6","local":"2001:db8:1::5","prefixlen":64,"scope":"global","nodad":true,'
    '"valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6",'
    '"local":"fe80::cc4f:96ff:fe9f:3c74","prefixlen":64,"scope":"link","tentative":true,'
    '"valid_life_time":4294967295,"preferred_life_time":4294967295}]}]\n'
)
# A freshly created namespace: only the loopback addresses.
IP_JSON_LO_EMPTY = json.dumps(
    [
        {
            "ifindex": 1,
            "ifname": "lo",
            "addr_info": [
                {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host", "label": "lo"},
                {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host"},
            ],
        }
    ]
)


def entry(address, prefix, label=None, interface="lo"):
    family = "inet6" if ":" in address else "inet"
    return {"interface": interface, "address": address, "prefix": prefix, "family": family, "label": label}


# ---- parsing real `ip -json addr show dev IFACE` output -----------------------------------------


def test_parse_lo():
    assert vi.parse_ip_addr_json(IP_JSON_LO, "lo") == [
        entry("127.0.0.1", 8, "lo"),
        entry("192.168.100.10", 32, "lo:0"),
        entry("2001:db8::10", 128),
        entry("::1", 128),
    ]


def test_parse_ens33_keeps_labels_and_ipv6():
    parsed = vi.parse_ip_addr_json(IP_JSON_ENS33, "ens33")
    assert [(e["address"], e["prefix"], e["label"]) for e in parsed] == [
        ("192.168.100.20", 24, "ens33"),
        ("192.168.100.21", 32, "ens33:0"),
        ("2001:db8:1::5", 64, None),
        ("fe80::cc4f:96ff:fe9f:3c74", 64, None),
    ]


def test_parse_skips_the_empty_objects_a_filter_leaves():
    # iproute2 6.1: `ip -json addr show scope global` prints filtered-out addresses as {}.
    text = (
        '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue",'
        '"operstate":"UNKNOWN","group":"default","txqlen":1000,"link_type":"loopback",'
        '"address":"00:00:00:00:00:00","broadcast":"00:00:00:00:00:00","addr_info":[{},{"family":"inet",'
        '"local":"192.168.100.10","prefixlen":32,"scope":"global","label":"lo","valid_life_time":4294967295,'
        '"preferred_life_time":4294967295},{}]}]'
    )
    assert vi.parse_ip_addr_json(text, "lo") == [entry("192.168.100.10", 32, "lo")]


def test_parse_ignores_other_interfaces_and_empty_output():
    assert vi.parse_ip_addr_json(IP_JSON_LO, "ens33") == []
    assert vi.parse_ip_addr_json("", "lo") == []


def test_parse_garbage_is_a_clear_error():
    with pytest.raises(vi.VipError, match="cannot parse the JSON output"):
        vi.parse_ip_addr_json("Usage: ip address", "lo")


# ---- normalising the request ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, prefix, label, address",
    [
        ({"address": "192.168.100.10", "interface": "lo"}, 32, None, "192.168.100.10"),
        ({"address": "192.168.100.10", "interface": "ens33"}, 32, None, "192.168.100.10"),
        ({"address": "192.168.100.10/24", "interface": "ens33"}, 24, None, "192.168.100.10"),
        ({"address": "192.168.100.10/24", "interface": "ens33", "prefix": 24}, 24, None, "192.168.100.10"),
        ({"address": "192.168.100.10", "interface": "lo", "label": "lo:0"}, 32, "lo:0", "192.168.100.10"),
        ({"address": "192.168.100.10", "interface": "lo", "label": "lo"}, 32, "lo", "192.168.100.10"),
        ({"address": "2001:DB8:0::10", "interface": "lo"}, 128, None, "2001:db8::10"),
        ({"address": "2001:db8::10", "interface": "ens33", "prefix": 64}, 64, None, "2001:db8::10"),
    ],
)
def test_normalise_good(args, prefix, label, address):
    wanted, canonical = vi.normalise_request(**args)
    assert canonical == address
    assert wanted == {
        "interface": args["interface"],
        "address": address,
        "prefix": prefix,
        "family": "inet6" if ":" in address else "inet",
        "label": label,
    }


@pytest.mark.parametrize(
    "args, message",
    [
        ({"address": "not-an-ip", "interface": "lo"}, "address: 'not-an-ip' is not an IPv4 or IPv6 address"),
        ({"address": "192.168.100.300", "interface": "lo"}, "address: "),
        ({"address": "192.168.100.10/x", "interface": "lo"}, "address: .* prefix that is not a number"),
        ({"address": "192.168.100.10/24", "interface": "lo", "prefix": 32}, "address: prefix /24 .* differs"),
        (
            {"address": "192.168.100.10", "interface": "lo", "prefix": 33},
            r"prefix: 33 is out of range for IPv4 \(0-32\)",
        ),
        ({"address": "192.168.100.10/33", "interface": "lo"}, "prefix: 33 is out of range"),
        ({"address": "2001:db8::10", "interface": "lo", "prefix": 129}, r"prefix: 129 .*IPv6 \(0-128\)"),
        ({"address": "192.168.100.10", "interface": "lo", "prefix": -1}, "prefix: -1 is out of range"),
        ({"address": "2001:db8::10", "interface": "lo", "label": "lo:0"}, "label: IPv6 addresses have no labels"),
        (
            {"address": "192.168.100.10", "interface": "lo", "label": "ens33:0"},
            "label: 'ens33:0' must be 'lo' or start",
        ),
        ({"address": "192.168.100.10", "interface": "lo", "label": "lo0"}, "label: 'lo0' must be"),
        ({"address": "192.168.100.10", "interface": "ens33", "label": "ens33:abcdefghij"}, "label: .* longer than"),
    ],
)
def test_normalise_bad_input_names_the_option(args, message):
    with pytest.raises(vi.VipError, match=message):
        vi.normalise_request(**args)


# ---- the decision: each scenario once where it changes and once where it is already there ---------

LO_BASE = [entry("127.0.0.1", 8, "lo"), entry("::1", 128)]
V4 = "192.168.100.10"
V6 = "2001:db8::10"

SCENARIOS = [
    # id, current addresses, request, expected commands
    (
        "add-v4",
        LO_BASE,
        {"address": V4, "interface": "lo", "label": "lo:0"},
        [["ip", "addr", "add", f"{V4}/32", "dev", "lo", "label", "lo:0"]],
    ),
    ("add-v4-there", LO_BASE + [entry(V4, 32, "lo:0")], {"address": V4, "interface": "lo", "label": "lo:0"}, []),
    ("add-v6", LO_BASE, {"address": V6, "interface": "lo"}, [["ip", "addr", "add", f"{V6}/128", "dev", "lo"]]),
    ("add-v6-there", LO_BASE + [entry(V6, 128)], {"address": V6, "interface": "lo"}, []),
    (
        "other-prefix",
        LO_BASE + [entry(V4, 24, "lo:0")],
        {"address": V4, "interface": "lo", "label": "lo:0"},
        [
            ["ip", "addr", "del", f"{V4}/24", "dev", "lo"],
            ["ip", "addr", "add", f"{V4}/32", "dev", "lo", "label", "lo:0"],
        ],
    ),
    (
        "other-prefix-there",
        LO_BASE + [entry(V4, 24, "lo:0")],
        {"address": V4, "interface": "lo", "label": "lo:0", "prefix": 24},
        [],
    ),
    (
        "other-label",
        LO_BASE + [entry(V4, 32, "lo")],
        {"address": V4, "interface": "lo", "label": "lo:0"},
        [
            ["ip", "addr", "del", f"{V4}/32", "dev", "lo"],
            ["ip", "addr", "add", f"{V4}/32", "dev", "lo", "label", "lo:0"],
        ],
    ),
    ("other-label-there", LO_BASE + [entry(V4, 32, "lo:0")], {"address": V4, "interface": "lo", "label": "lo:0"}, []),
    ("label-unset-keeps-label", LO_BASE + [entry(V4, 32, "lo:7")], {"address": V4, "interface": "lo"}, []),
    (
        "two-prefixes",
        LO_BASE + [entry(V4, 32, "lo:0"), entry(V4, 24, "lo:0")],
        {"address": V4, "interface": "lo", "label": "lo:0"},
        [["ip", "addr", "del", f"{V4}/24", "dev", "lo"]],
    ),
    ("two-prefixes-there", LO_BASE + [entry(V4, 32, "lo:0")], {"address": V4, "interface": "lo", "label": "lo:0"}, []),
    (
        "absent",
        LO_BASE + [entry(V4, 32, "lo:0")],
        {"address": V4, "interface": "lo", "state": "absent"},
        [["ip", "addr", "del", f"{V4}/32", "dev", "lo"]],
    ),
    ("absent-there", LO_BASE, {"address": V4, "interface": "lo", "state": "absent"}, []),
    (
        "absent-any-prefix",
        LO_BASE + [entry(V4, 24, "lo")],
        {"address": V4, "interface": "lo", "state": "absent", "prefix": 32},
        [["ip", "addr", "del", f"{V4}/24", "dev", "lo"]],
    ),
]


@pytest.mark.parametrize("current, request_, commands", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_plan(current, request_, commands):
    wanted, address = vi.normalise_request(**request_)
    before, after, planned = vi.plan(current, address, wanted)
    assert planned == commands
    # Never a command for another address: the VIP is the only object this module touches.
    assert all(argv[3].split("/")[0] == address for argv in planned)
    assert before == [e for e in current if e["address"] == address]
    if wanted is None:
        assert after == []
    else:
        assert len(after) == 1
        assert (after[0]["address"], after[0]["prefix"]) == (address, wanted["prefix"])
    if not commands:
        assert after == before


def test_plan_new_v4_without_label_reports_the_kernel_label():
    wanted, address = vi.normalise_request(V4, "lo")
    _before, after, _commands = vi.plan(LO_BASE, address, wanted)
    assert after == [entry(V4, 32, "lo")]


# ---- main(): one code path, check mode guards only the write ---------------------------------------


class FakeIp:
    """Stands in for `ip`: answers reads with captured JSON and records every call."""

    def __init__(self, show_output=IP_JSON_LO_EMPTY, show_rc=0, show_err="", write_rc=0):
        self.calls = []
        self.show = (show_rc, show_output, show_err)
        self.write_rc = write_rc

    def __call__(self, argv, **kwargs):
        assert kwargs.get("environ_update") == {"LANG": "C", "LC_ALL": "C"}
        self.calls.append(argv)
        if argv[1] == "-json":
            return self.show
        return self.write_rc, "", "Error: ipv4: Address already assigned.\n" if self.write_rc else ""

    @property
    def writes(self):
        return [argv for argv in self.calls if argv[1] != "-json"]


@pytest.fixture
def fake_ip(monkeypatch):
    def install(**kwargs):
        fake = FakeIp(**kwargs)
        monkeypatch.setattr(vi.AnsibleModule, "run_command", lambda self, argv, **kw: fake(argv, **kw))
        monkeypatch.setattr(vi.AnsibleModule, "get_bin_path", lambda self, name, required=False: f"/usr/sbin/{name}")
        return fake

    return install


def test_main_adds_and_reports(fake_ip, run_module):
    fake = fake_ip()
    result = run_module(vi.main, {"address": V4, "interface": "lo", "label": "lo:0"}, diff=True)
    assert result["changed"] is True
    assert fake.writes == [["/usr/sbin/ip", "addr", "add", f"{V4}/32", "dev", "lo", "label", "lo:0"]]
    assert result["vip"] == entry(V4, 32, "lo:0")
    assert result["diff"] == {
        "before": {"interface": "lo", "address": V4, "entries": []},
        "after": {"interface": "lo", "address": V4, "entries": [{"prefix": 32, "label": "lo:0"}]},
    }


def test_main_already_there_runs_only_the_read(fake_ip, run_module):
    fake = fake_ip(show_output=IP_JSON_LO)
    result = run_module(vi.main, {"address": V4, "interface": "lo", "label": "lo:0"})
    assert result["changed"] is False
    assert fake.calls == [["/usr/sbin/ip", "-json", "addr", "show", "dev", "lo"]]
    assert result["commands"] == []


@pytest.mark.parametrize(
    "args",
    [
        {"address": V4, "interface": "lo", "label": "lo:0"},
        {"address": V4, "interface": "lo", "label": "lo:1"},
        {"address": V4, "interface": "lo", "prefix": 24},
        {"address": V4, "interface": "lo", "state": "absent"},
        {"address": V6, "interface": "lo", "state": "absent"},
    ],
)
def test_check_mode_never_writes(fake_ip, run_module, args):
    fake = fake_ip(show_output=IP_JSON_LO if args.get("label") != "lo:0" else IP_JSON_LO_EMPTY)
    result = run_module(vi.main, args, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["commands"]  # what a real run would do ...
    assert fake.writes == []  # ... but nothing but the read ran
    assert result["diff"]["before"] != result["diff"]["after"]


def test_missing_interface_names_it_and_writes_nothing(fake_ip, run_module):
    fake = fake_ip(show_output="", show_rc=1, show_err='Device "nope0" does not exist.\n')
    result = run_module(vi.main, {"address": V4, "interface": "nope0"})
    assert result["failed"] is True
    assert result["msg"] == "interface: 'nope0' does not exist"
    assert result["rc"] == 1
    assert fake.writes == []


@pytest.mark.parametrize(
    "args, option",
    [
        ({"address": "not-an-ip", "interface": "lo"}, "address"),
        ({"address": V4, "interface": "lo", "prefix": 33}, "prefix"),
        ({"address": V4, "interface": "lo", "label": "ens33:0"}, "label"),
        ({"address": V4, "interface": "lo", "state": "gone"}, "state"),
    ],
)
def test_bad_input_fails_before_any_command(fake_ip, run_module, args, option):
    fake = fake_ip()
    result = run_module(vi.main, args)
    assert result["failed"] is True
    assert option in result["msg"]
    assert fake.calls == []


def test_failed_write_reports_rc_and_stderr(fake_ip, run_module):
    fake_ip(write_rc=2)
    result = run_module(vi.main, {"address": V4, "interface": "lo"})
    assert result["failed"] is True
    assert result["rc"] == 2
    assert "Address already assigned" in result["stderr"]
    assert f"addr add {V4}/32 dev lo" in result["msg"]

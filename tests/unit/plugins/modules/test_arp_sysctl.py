# SPDX-License-Identifier: GPL-3.0-or-later
"""arp_sysctl against a real directory tree shaped like /proc/sys/net/ipv4/conf (no mocks needed)."""

from __future__ import annotations

import os

import pytest
from ansible_collections.lvs.ha.plugins.modules import arp_sysctl as arp

DEFAULT_FILE = (
    "# Managed by lvs.ha.arp_sysctl; rewritten as a whole on every change.\n"
    "# ARP behaviour of an LVS direct-routing real server.\n"
    "net.ipv4.conf.all.arp_announce = 2\n"
    "net.ipv4.conf.all.arp_ignore = 1\n"
    "net.ipv4.conf.lo.arp_announce = 2\n"
    "net.ipv4.conf.lo.arp_ignore = 1\n"
)


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake conf tree (all, default, lo, ens33 at kernel defaults) and an empty sysctl.d."""
    conf = tmp_path / "conf"
    for name in ("all", "default", "lo", "ens33"):
        (conf / name).mkdir(parents=True)
        for key in arp.KEYS:
            (conf / name / key).write_text("0\n")
    sysctl_d = tmp_path / "sysctl.d"
    sysctl_d.mkdir()
    monkeypatch.setattr(arp, "PROC_CONF", str(conf))

    class Host:
        path = sysctl_d / "90-lvs-ha-arp.conf"

        @staticmethod
        def set(name, key, value):
            (conf / name / key).write_text(f"{value}\n")

        @staticmethod
        def get(name, key):
            return int((conf / name / key).read_text())

        @staticmethod
        def snapshot():
            """Every file below the tree and sysctl.d with its content and mtime."""
            state = {}
            for root in (conf, sysctl_d):
                for path in sorted(root.rglob("*")):
                    if path.is_file():
                        state[str(path)] = (path.read_text(), path.stat().st_mtime_ns)
            return state

    return Host


def args(host, **kwargs):
    return dict({"path": str(host.path)}, **kwargs)


# ---- pure helpers ----------------------------------------------------------------------------------


def test_render_is_sorted_and_independent_of_input_order():
    a = arp.render({"lo": {"arp_ignore": 1, "arp_announce": 2}, "all": {"arp_announce": 2, "arp_ignore": 1}})
    b = arp.render({"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_announce": 2, "arp_ignore": 1}})
    assert a == b == DEFAULT_FILE


def test_render_uses_slash_form_for_dotted_interface_names():
    content = arp.render({"ens33.100": {"arp_ignore": 1, "arp_announce": 2}})
    assert "net/ipv4/conf/ens33.100/arp_ignore = 1\n" in content


@pytest.mark.parametrize("name", ["", "../all", "a/b", ".", "..", "x" * 16])
def test_invalid_interface_names(name):
    with pytest.raises(arp.ArpError, match="interfaces: .* is not a valid interface name"):
        arp.check_interfaces(["lo", name])


def test_interfaces_are_sorted_and_deduplicated():
    assert arp.check_interfaces(["lo", "all", "lo"]) == ["all", "lo"]


# ---- the decision: each scenario once where it changes and once where it is already there ---------


def prepare(host, live=None, content=None):
    for name, values in (live or {}).items():
        for key, value in values.items():
            host.set(name, key, value)
    if content is not None:
        host.path.write_text(content)


SCENARIOS = [
    # id, live values before, file before, module args, changed
    ("fresh", {}, None, {}, True),
    (
        "fresh-there",
        {"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_ignore": 1, "arp_announce": 2}},
        DEFAULT_FILE,
        {},
        False,
    ),
    (
        "live-drift",
        {"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_ignore": 0, "arp_announce": 2}},
        DEFAULT_FILE,
        {},
        True,
    ),
    (
        "file-drift",
        {"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_ignore": 1, "arp_announce": 2}},
        DEFAULT_FILE + "kernel.panic = 1\n",
        {},
        True,
    ),
    (
        "file-missing",
        {"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_ignore": 1, "arp_announce": 2}},
        None,
        {},
        True,
    ),
    ("other-values", {}, None, {"interfaces": ["ens33"], "arp_ignore": 8, "arp_announce": 1}, True),
    (
        "other-values-there",
        {"ens33": {"arp_ignore": 8, "arp_announce": 1}},
        arp.render({"ens33": {"arp_ignore": 8, "arp_announce": 1}}),
        {"interfaces": ["ens33"], "arp_ignore": 8, "arp_announce": 1},
        False,
    ),
    (
        "absent",
        {"all": {"arp_ignore": 1, "arp_announce": 2}, "lo": {"arp_ignore": 1, "arp_announce": 2}},
        DEFAULT_FILE,
        {"state": "absent"},
        True,
    ),
    ("absent-file-only", {}, DEFAULT_FILE, {"state": "absent"}, True),
    ("absent-there", {}, None, {"state": "absent"}, False),
]


@pytest.mark.parametrize(
    "live, content, module_args, changed", [s[1:] for s in SCENARIOS], ids=[s[0] for s in SCENARIOS]
)
def test_decision_and_result(host, run_module, live, content, module_args, changed):
    prepare(host, live, content)
    result = run_module(arp.main, args(host, **module_args), diff=True)
    assert result["changed"] is changed
    state = module_args.get("state", "present")
    names = sorted(module_args.get("interfaces", ["all", "lo"]))
    if state == "present":
        values = {"arp_ignore": module_args.get("arp_ignore", 1), "arp_announce": module_args.get("arp_announce", 2)}
        assert host.path.read_text() == result["content"] == arp.render({name: values for name in names})
    else:
        values = {"arp_ignore": 0, "arp_announce": 0}
        assert not host.path.exists()
        assert result["content"] is None
    assert result["interfaces"] == {name: values for name in names}
    assert {name: {key: host.get(name, key) for key in arp.KEYS} for name in names} == result["interfaces"]
    assert result["diff"]["after"]["interfaces"] == result["interfaces"]
    assert (result["diff"]["before"] == result["diff"]["after"]) is not changed
    # A second run finds everything in place.
    assert run_module(arp.main, args(host, **module_args))["changed"] is False


def test_only_listed_interfaces_are_touched(host, run_module):
    run_module(arp.main, args(host))
    assert [host.get(name, "arp_ignore") for name in ("all", "default", "lo", "ens33")] == [1, 0, 1, 0]


def test_file_is_replaced_atomically_without_leftovers(host, run_module):
    host.path.write_text("old\n")
    run_module(arp.main, args(host))
    assert sorted(os.listdir(host.path.parent)) == [host.path.name]
    assert host.path.read_text() == DEFAULT_FILE


# ---- check mode: the read path never writes ----------------------------------------------------------


@pytest.mark.parametrize(
    "module_args, content",
    [
        ({}, None),
        ({}, "stale\n"),
        ({"interfaces": ["all", "lo", "ens33"], "arp_ignore": 8}, DEFAULT_FILE),
        ({"state": "absent"}, DEFAULT_FILE),
    ],
)
def test_check_mode_never_writes(host, run_module, module_args, content):
    prepare(host, {"lo": {"arp_ignore": 1, "arp_announce": 1}}, content)
    before = host.snapshot()
    result = run_module(arp.main, args(host, **module_args), check_mode=True, diff=True)
    assert result["changed"] is True
    assert host.snapshot() == before
    assert result["diff"]["before"] != result["diff"]["after"]


def test_check_mode_diff_shows_file_and_values(host, run_module):
    result = run_module(arp.main, args(host), check_mode=True, diff=True)
    assert result["diff"]["before"] == {
        "interfaces": {"all": {"arp_announce": 0, "arp_ignore": 0}, "lo": {"arp_announce": 0, "arp_ignore": 0}},
        "path": str(host.path),
        "file": None,
    }
    assert result["diff"]["after"]["file"] == DEFAULT_FILE.splitlines()


# ---- bad input: a message naming the option, nothing changed --------------------------------------


@pytest.mark.parametrize(
    "module_args, message",
    [
        ({"arp_ignore": 4}, "arp_ignore must be one of: 0, 1, 2, 3, 8, got: 4"),
        ({"arp_ignore": 9}, "arp_ignore must be one of"),
        ({"arp_announce": 3}, "arp_announce must be one of: 0, 1, 2, got: 3"),
        ({"interfaces": ["all", "lo", "nope0"]}, "interfaces: 'nope0' does not exist"),
        ({"interfaces": ["nope0", "nope1"], "state": "absent"}, "interfaces: 'nope0', 'nope1' do not exist"),
        ({"interfaces": ["lo/../all"]}, "interfaces: 'lo/../all' is not a valid interface name"),
    ],
)
def test_bad_input_changes_nothing(host, run_module, module_args, message):
    prepare(host, {"lo": {"arp_ignore": 1, "arp_announce": 1}})
    before = host.snapshot()
    result = run_module(arp.main, args(host, **module_args))
    assert result["failed"] is True
    assert message in result["msg"]
    assert host.snapshot() == before


def test_missing_directory_fails_before_live_write(host, run_module, tmp_path):
    before = host.snapshot()
    result = run_module(arp.main, {"path": str(tmp_path / "no-such-dir" / "x.conf")})
    assert result["failed"] is True
    assert "path: directory" in result["msg"]
    assert host.snapshot() == before

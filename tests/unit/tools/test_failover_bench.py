# SPDX-License-Identifier: GPL-3.0-or-later
"""tools/failover_bench.py without the lab: the profiles' extra vars (and that the site check takes each),
the figures of a run, the statistics, the JSON merge, the table, the goals, the plan and its estimate, the
arguments, and the plot."""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.lvs.ha.plugins.filter import site

from tools import failover_bench as fb  # tools/failover_bench.py, through pytest.ini's pythonpath (.)

REPO = Path(__file__).resolve().parents[3]
LAB_HOSTVARS = {
    "dr1": {"ansible_host": "192.168.100.201", "lvs_vrrp_state": "MASTER", "lvs_vrrp_priority": 100},
    "dr2": {"ansible_host": "192.168.100.202", "lvs_vrrp_state": "BACKUP", "lvs_vrrp_priority": 90},
    "web1": {"ansible_host": "192.168.100.221", "lvs_page_text": "this is accp web"},
    "web2": {"ansible_host": "192.168.100.222", "lvs_page_text": "this is benet web"},
    "client": {"ansible_host": "192.168.100.50"},
}


@pytest.fixture(scope="module")
def variables():
    return fb.site_vars()


# ---- profiles ---------------------------------------------------------------------------------------------


def test_v2_default_is_what_ships(variables):
    assert fb.profile_vrrp(variables["lvs_vrrp"], "v2-default") == variables["lvs_vrrp"]


def test_profiles_carry_the_whole_lvs_vrrp(variables):
    base = variables["lvs_vrrp"]
    unicast = fb.profile_vrrp(base, "v2-unicast")
    assert unicast == {**base, "unicast": True}
    fast = fb.profile_vrrp(base, "v3-fast")
    assert fast["version"] == 3 and fast["advert_int"] == 0.1
    assert "auth_pass" not in fast, "VRRPv3 has no authentication: the site check refuses auth_pass"
    assert fast["virtual_router_id"] == base["virtual_router_id"] and fast["name"] == base["name"]
    assert not fast.get("unicast") and "sync" not in fast
    recommended = fb.profile_vrrp(base, "v3-fast-sync")
    assert recommended == {**fast, "unicast": True, "sync": {"enabled": True, "id": base["virtual_router_id"]}}


def test_profiles_do_not_change_the_base_or_each_other(variables):
    base = json.loads(json.dumps(variables["lvs_vrrp"]))
    fb.profile_vrrp(variables["lvs_vrrp"], "v3-fast-sync")["sync"]["id"] = 7
    assert variables["lvs_vrrp"] == base
    assert fb.profile_vrrp(variables["lvs_vrrp"], "v3-fast-sync")["sync"]["id"] == base["virtual_router_id"]


def test_the_recommended_profile_is_example_fasts(variables):
    """v3-fast-sync-delay sets what inventories/example-fast sets (version, adverts, unicast, sync, preempt_delay,
    both directors BACKUP)."""
    import yaml

    example_dir = REPO / "inventories/example-fast"
    example = yaml.safe_load((example_dir / "group_vars/all/site.yml").read_text())["lvs_vrrp"]
    recommended = fb.profile_vrrp(variables["lvs_vrrp"], "v3-fast-sync-delay")
    for key in ("version", "advert_int", "unicast", "preempt_delay"):
        assert recommended[key] == example[key]
    assert recommended["sync"]["enabled"] is example["sync"]["enabled"] is True
    states = {yaml.safe_load(path.read_text()).get("lvs_vrrp_state") for path in example_dir.glob("host_vars/lb*.yml")}
    assert states == {fb.PROFILES["v3-fast-sync-delay"]["hosts"]["lvs_vrrp_state"]} == {"BACKUP"}


@pytest.mark.parametrize("profile", list(fb.PROFILES))
@pytest.mark.parametrize("weight", [None, fb.WEIGHT])
def test_each_profile_passes_the_site_check(variables, profile, weight):
    """The extra vars over the lab's model, through the preflight's own check (lvs.ha.site_check)."""
    model = {k: variables[k] for k in ("lvs_subnet", "lvs_services", "lvs_vrrp", "lvs_health_path")}
    extra = fb.extra_vars(variables, profile, weight=weight)
    model.update(extra)
    model["lvs_services"] = fb.resolve(model["lvs_services"], variables)
    # extra vars win over host_vars on every host
    hostvars = {
        host: {**hv, **{k: v for k, v in extra.items() if k.startswith("lvs_vrrp_")}}
        for host, hv in LAB_HOSTVARS.items()
    }
    assert site.site_check(model, hostvars, ["dr1", "dr2"]) == []


def test_the_delay_profile_starts_both_directors_as_backup(variables):
    """Without the state it carries, its preempt_delay is refused (keepalived would ignore it on dr1)."""
    extra = fb.extra_vars(variables, "v3-fast-sync-delay")
    assert extra["lvs_vrrp_state"] == "BACKUP" and extra["lvs_vrrp"]["preempt_delay"] == 5
    model = {k: variables[k] for k in ("lvs_subnet", "lvs_services", "lvs_health_path")}
    model.update(lvs_vrrp=extra["lvs_vrrp"], lvs_services=fb.resolve(variables["lvs_services"], variables))
    assert any("preempt_delay" in e for e in site.site_check(model, LAB_HOSTVARS, ["dr1", "dr2"]))


def test_the_site_check_would_refuse_a_v3_profile_with_a_password(variables):
    """The test above can fail: v3 with the lab's auth_pass is refused."""
    model = {k: variables[k] for k in ("lvs_subnet", "lvs_services", "lvs_vrrp")}
    model["lvs_vrrp"] = {**fb.profile_vrrp(variables["lvs_vrrp"], "v3-fast"), "auth_pass": "lvs-lab1"}
    model["lvs_services"] = fb.resolve(model["lvs_services"], variables)
    assert any("auth_pass" in e for e in site.site_check(model, LAB_HOSTVARS, ["dr1", "dr2"]))


def preflight(extra, tmp_path):
    """lvs.ha.preflight (the site's first play; it contacts no host in the lab inventory) with `extra` as the
    tool passes it: a JSON file after -e @."""
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    argv = [sys.executable, "-m", "ansible.cli.playbook", "lvs.ha.preflight", "-i", fb.INVENTORY, "-e", f"@{path}"]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("profile", list(fb.PROFILES))
def test_each_profile_passes_the_preflight_as_extra_vars(variables, profile, tmp_path):
    result = preflight(fb.extra_vars(variables, profile, weight=fb.WEIGHT if profile == "v3-fast" else None), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_preflight_refuses_a_broken_profile(variables, tmp_path):
    extra = fb.extra_vars(variables, "v3-fast-sync")
    extra["lvs_vrrp"]["advert_int"] = 0.001
    result = preflight(extra, tmp_path)
    assert result.returncode != 0
    assert "lvs_vrrp.advert_int" in result.stdout + result.stderr


def test_weight_change_extra_vars(variables):
    extra = fb.extra_vars(variables, "v3-fast", weight=2)
    assert set(extra) == {"lvs_vrrp", "lvs_services"}
    real_servers = extra["lvs_services"][0]["real_servers"]
    assert [rs["weight"] for rs in real_servers] == [2, 1]
    assert variables["lvs_services"][0]["real_servers"][0]["weight"] == 1, "the model itself is untouched"
    # the model's own reference to lvs_health_path is resolved: nothing for Ansible to template
    assert extra["lvs_services"][0]["check"]["path"] == variables["lvs_health_path"]
    assert "{{" not in json.dumps(extra)
    assert set(fb.extra_vars(variables, "v3-fast")) == {"lvs_vrrp"}


def test_resolve_refuses_what_it_cannot_resolve():
    assert fb.resolve({"a": ["{{ x }}", "y"]}, {"x": "/p"}) == {"a": ["/p", "y"]}
    with pytest.raises(ValueError, match="cannot resolve"):
        fb.resolve("{{ x | default('a') }}", {"x": 1})
    with pytest.raises(ValueError, match="cannot resolve"):
        fb.resolve("{{ missing }}", {})


@pytest.mark.parametrize(
    ("vrrp", "expected"),
    [
        ({"advert_int": 1}, 3 + 166 / 256),  # VRRPv2: the skew in seconds
        ({"version": 3, "advert_int": 0.1}, 0.3 + 166 / 256 * 0.1),  # VRRPv3: the skew in adverts
        ({"version": 3, "advert_int": 1}, 3 + 166 / 256),
    ],
)
def test_failover_bound(vrrp, expected):
    assert fb.failover_bound_s(vrrp, 90) == pytest.approx(expected)


def test_backup_priority_is_the_inventorys():
    assert fb.backup_priority() == 90


# ---- what the hosts say ------------------------------------------------------------------------------------

IP_WITH_VIP = (
    "2: ens33    inet 192.168.100.201/24 brd 192.168.100.255 scope global ens33\n"
    "2: ens33    inet 192.168.100.10/32 scope global ens33:0\n"
)
IP_WITHOUT_VIP = "2: ens33    inet 192.168.100.202/24 brd 192.168.100.255 scope global ens33\n"
TABLE = (
    "IP Virtual Server version 1.2.1 (size=4096)\n"
    "Prot LocalAddress:Port Scheduler Flags\n"
    "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
    "TCP  192.168.100.10:80 rr\n"
    "  -> 192.168.100.221:80           Route   1      0          0\n"
    "  -> 192.168.100.222:80           Route   1      0          0\n"
)
REAL_SERVERS = ["192.168.100.221", "192.168.100.222"]


def test_vip_held():
    assert fb.vip_held(IP_WITH_VIP, "192.168.100.10")
    assert not fb.vip_held(IP_WITHOUT_VIP, "192.168.100.10")
    assert not fb.vip_held("inet 192.168.100.100/24", "192.168.100.10")


def test_healthy_pair():
    states = {"dr1": "active\n" + IP_WITH_VIP + TABLE, "dr2": "active\n" + IP_WITHOUT_VIP + TABLE}
    assert fb.healthy(states, "192.168.100.10", REAL_SERVERS) == []


@pytest.mark.parametrize(
    ("states", "problem"),
    [
        ({"dr1": "inactive\n" + IP_WITH_VIP + TABLE, "dr2": "active\n" + IP_WITHOUT_VIP + TABLE}, "dr1: keepalived"),
        ({"dr1": "active\n" + IP_WITHOUT_VIP + TABLE, "dr2": "active\n" + IP_WITH_VIP + TABLE}, "dr1: no VIP"),
        ({"dr1": "active\n" + IP_WITH_VIP + TABLE, "dr2": "active\n" + IP_WITH_VIP + TABLE}, "dr2: holds the VIP"),
        (
            {"dr1": "active\n" + IP_WITH_VIP + TABLE.replace("222", "999"), "dr2": "active\n" + IP_WITHOUT_VIP + TABLE},
            "dr1: 192.168.100.222 not in its table",
        ),
        ({"dr1": "", "dr2": "active\n" + IP_WITHOUT_VIP + TABLE}, "dr1: keepalived not active"),
    ],
)
def test_unhealthy_pair(states, problem):
    problems = fb.healthy(states, "192.168.100.10", REAL_SERVERS)
    assert any(problem in p for p in problems), problems


def test_parse_watch_and_takeover():
    changes = fb.parse_watch("100.00 0\nnoise\n103.71 1\n104.00 x\n110.5 0\n111.20 1\n")
    assert changes == [(100.0, False), (103.71, True), (110.5, False), (111.2, True)]
    assert fb.takeover(changes, 100.05) == pytest.approx(3.66)
    assert fb.takeover(changes, 105.0) == pytest.approx(6.2)
    assert fb.takeover(changes, 112.0) is None
    assert fb.takeover([], 1.0) is None


def test_parse_probe_and_downloads():
    text = '[10.0, "a", 0.01]\n[10.05, null, 3.0]\nssh: warning\n{"summary": {"probes": 2}}\n'
    assert fb.parse_probe(text) == [[10.0, "a", 0.01], [10.05, None, 3.0]]
    downloads = '{"status": 200, "complete": true}\n{"status": 200, "complete": false, "error": "reset"}\nx\n'
    assert [d["complete"] for d in fb.parse_downloads(downloads)] == [True, False]


def test_measure_one_run():
    samples = [
        [98.5, "a", 0.01],
        [99.0, "a", 0.01],
        [100.1, None, 3.0],
        [101.2, None, 0.01],
        [103.0, "b", 0.02],
        [104.0, "a", 0.01],
    ]
    downloads = [{"complete": False}, {"complete": True}]
    run = fb.measure(samples, downloads, 100.0, [(99.0, False), (102.9, True)])
    assert run["outage_s"] == pytest.approx(4.01)  # answers at 99.01, then 103.02
    assert run["baseline_s"] == pytest.approx(0.5)  # 98.51 to 99.01, before the event
    assert run["failed"] == 2
    assert run["broken_downloads"] == 1
    assert run["takeover_s"] == pytest.approx(2.9)
    assert (run["probes"], run["downloads"]) == (6, 2)
    assert run["timeline"][0] == [-1.5, 0.01, True]
    assert run["timeline"][2] == [pytest.approx(0.1), 3.0, False]


def test_a_late_answer_is_an_outage_without_a_failure():
    """A SYN lost at the event and sent again 1 s later: no request fails, the client waits anyway."""
    samples = [[99.9, "a", 0.01], [99.95, "a", 0.01], [100.0, "a", 1.03], [101.04, "b", 0.01]]
    run = fb.measure(samples, [{"complete": True}], 100.0, [])
    assert run["failed"] == 0
    assert run["outage_s"] == pytest.approx(1.07)  # 99.96 to 101.03
    assert run["baseline_s"] == pytest.approx(0.05)


def test_window_problem():
    samples = [[99.0, "a", 0.01], [100.1, None, 3.0], [103.0, "b", 0.02]]
    assert fb.window_problem(samples, [{"complete": True}], 100.0) is None
    assert "no request line" in fb.window_problem([], [{"complete": True}], 100.0)
    assert "no download" in fb.window_problem(samples, [], 100.0)
    assert "do not cover the event" in fb.window_problem(samples, [{"complete": True}], 98.0)
    assert "do not cover the event" in fb.window_problem(samples, [{"complete": True}], 103.5)


def test_measure_a_client_that_never_recovered():
    run = fb.measure([[1.0, "a", 0.01], [2.0, None, 3.0]], [], 1.5, [])
    assert run["outage_s"] is None
    assert run["takeover_s"] is None


# ---- statistics, merge, table, goals -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], (None, None)),
        ([0.4], (0.4, 0.4)),
        ([0.3, 0.5, 0.4, 2.0], (0.45, 2.0)),
        ([3.6, None, 3.7], (3.7, math.inf)),
        ([0, 0, 1], (0, 1)),
    ],
)
def test_summarise(values, expected):
    assert fb.summarise(values) == pytest.approx(expected)


def figures(outage, failed, broken, takeover, baseline=None):
    out = {"outage_s": outage, "failed": failed, "broken_downloads": broken, "takeover_s": takeover}
    return out if baseline is None else {**out, "baseline_s": baseline}


def test_record_keeps_one_item_per_run():
    results: dict = {}
    fb.record(results, "v3-fast", "crash", {**figures(0.4, 3, 0, 0.36, 0.06), "probes": 300, "downloads": 2})
    fb.record(results, "v3-fast", "crash", {**figures(0.5, 4, 1, 0.37, 0.07), "probes": 301, "downloads": 2})
    assert results == {
        "profiles": {
            "v3-fast": {
                "crash": {
                    "outage_s": [0.4, 0.5],
                    "failed": [3, 4],
                    "broken_downloads": [0, 1],
                    "takeover_s": [0.36, 0.37],
                    "baseline_s": [0.06, 0.07],
                    "probes": [300, 301],
                    "downloads": [2, 2],
                }
            }
        }
    }


def test_merge_replaces_what_was_measured_and_keeps_the_rest():
    old = {
        "profiles": {
            "v2-default": {"crash": {"outage_s": [3.7]}, "reload": {"outage_s": [0]}},
            "v3-fast": {"crash": {"outage_s": [0.4]}},
        },
        "date": "2026-11-01",
        "runs": 5,
        "history": [{"date": "2026-11-01", "command": "full", "runs": 5}],
    }
    new = {
        "profiles": {"v2-default": {"crash": {"outage_s": [3.6, 3.65]}}},
        "date": "2026-11-27",
        "command": "part",
        "runs": 2,
    }
    merged = fb.merge(old, new)
    assert merged["profiles"]["v2-default"] == {"crash": {"outage_s": [3.6, 3.65]}, "reload": {"outage_s": [0]}}
    assert merged["profiles"]["v3-fast"] == {"crash": {"outage_s": [0.4]}}
    assert (merged["date"], merged["runs"]) == ("2026-11-27", 2)
    assert merged["history"] == [
        {"date": "2026-11-01", "command": "full", "runs": 5},
        {"date": "2026-11-27", "command": "part", "runs": 2, "measured": {"v2-default": ["crash"]}},
    ]
    assert old["profiles"]["v2-default"]["crash"] == {"outage_s": [3.7]}, "merge does not change its input"
    assert len(fb.merge({}, new)["history"]) == 1


def test_table():
    results = {
        "profiles": {
            "v3-fast-sync": {
                "crash": figures([0.4, 0.3, 0.5], [2, 1, 3], [0, 0, 0], [0.36, 0.35, 0.4], [0.1, 0.2, 0.06])
            },
            "v2-default": {
                "reload": figures([0, 0], [0, 0], [0, 0], [None, None]),
                "crash": figures([3.7, None], [60, 70], [1, 1], [3.66, 3.7]),
            },
        }
    }
    lines = fb.table(results).splitlines()
    assert lines[0].startswith("| profile | event | runs | outage s (median / max) |")
    # profiles in PROFILES' order, events in EVENTS' order
    assert lines[2] == "| v2-default | crash | 2 | never / never | 65 / 70 | 1 / 1 | 3.68 / 3.70 | - / - |"
    assert lines[3] == "| v2-default | reload | 2 | 0 / 0 | 0 / 0 | 0 / 0 | none | - / - |"
    assert lines[4] == "| v3-fast-sync | crash | 3 | 0.40 / 0.50 | 2 / 3 | 0 / 0 | 0.36 / 0.40 | 0.10 / 0.20 |"
    assert len(lines) == 5


def test_table_of_nothing_says_so():
    assert fb.table({}) == "Not yet measured.\n"


V2_GOAL = "v2-default crash: median outage within 10% of 3.15 s (3.65 s from the last advert, half an advert less from the pull)"
V2_TAKEOVER_GOAL = V2_GOAL.replace("median outage", "median takeover (the VIP on the BACKUP)")


def test_goals():
    good = {
        "profiles": {
            "v3-fast-sync": {"crash": figures([0.4, 0.45, 0.6], [0, 0, 0], [0, 0, 0], [0.36, 0.36, 0.36])},
            # from the pull: 3.65 s after the last advert is 2.65 to 3.65 s after the pull, 3.15 s on average
            "v2-default": {"crash": figures([2.9, 3.24, 3.6], [70, 72, 74], [1, 1, 1], [3.1, 3.2, 3.3])},
        }
    }
    met = dict(fb.goals(good, priority=90, base_vrrp={"advert_int": 1}))
    assert met["v3-fast-sync crash: median outage <= 0.5 s"] is True
    assert met["v3-fast-sync crash: 0 failed"] is True
    assert met[V2_GOAL] is True
    assert met[V2_TAKEOVER_GOAL] is True
    assert met["v2-default reload: 0 failed"] is None, "not measured"
    bad = json.loads(json.dumps(good))
    bad["profiles"]["v3-fast-sync"]["crash"]["outage_s"] = [0.6, 0.7, 0.4]
    bad["profiles"]["v3-fast-sync"]["crash"]["broken_downloads"] = [0, 1, 0]
    bad["profiles"]["v2-default"]["crash"]["outage_s"] = [4.5, 4.5, 4.5]
    bad["profiles"]["v2-default"]["reload"] = figures([0], [1], [0], [None])
    met = dict(fb.goals(bad, priority=90, base_vrrp={"advert_int": 1}))
    assert met["v3-fast-sync crash: median outage <= 0.5 s"] is False
    assert met["v3-fast-sync crash: 0 broken downloads"] is False
    assert met[V2_GOAL] is False
    assert met[V2_TAKEOVER_GOAL] is True, "the VIP moved in time; the client's wait is another figure"
    assert met["v2-default reload: 0 failed"] is False
    bad["profiles"]["v2-default"]["crash"]["outage_s"] = [3.65, 3.65, 3.7]  # the bound itself: late from the pull
    assert dict(fb.goals(bad, priority=90, base_vrrp={"advert_int": 1}))[V2_GOAL] is False
    assert "- v2-default reload: 0 failed: NOT met\n" in fb.goals_text(bad, priority=90)


def test_refigure_computes_the_gaps_again_from_the_timelines():
    results = {
        "profiles": {
            "v3-fast": {"crash": {**figures([0.3], [1], [0], [0.36]), "probes": [4]}},
            "v2-default": {"crash": figures([3.0, 3.1], [50, 51], [1, 1], [3.2, 3.3])},  # no timelines kept
        }
    }
    samples = {
        "v3-fast": {"crash": [[[-0.2, 0.01, True], [-0.1, 0.01, True], [0.0, 1.02, True], [1.05, 0.01, True]]]},
        "v2-default": {"crash": [[[-0.1, 0.01, True]]]},  # one timeline for two runs: left alone
    }
    out = fb.refigure(results, samples)
    assert out["profiles"]["v3-fast"]["crash"]["outage_s"] == [pytest.approx(1.11)]  # answers at -0.09, then 1.02
    assert out["profiles"]["v3-fast"]["crash"]["baseline_s"] == [pytest.approx(0.1)]
    assert out["profiles"]["v3-fast"]["crash"]["failed"] == [1], "only the gaps change"
    assert out["profiles"]["v2-default"] == results["profiles"]["v2-default"]
    assert results["profiles"]["v3-fast"]["crash"]["outage_s"] == [0.3], "refigure does not change its input"


def test_write_between_markers():
    page = f"# Title\n\nbefore\n{fb.MARK_BEGIN}\nold table\n{fb.MARK_END}\nafter\n"
    new = fb.write_between_markers(page, "| new |\n")
    assert new == f"# Title\n\nbefore\n{fb.MARK_BEGIN}\n| new |\n{fb.MARK_END}\nafter\n"
    assert fb.write_between_markers(new, "| newer |\n").count("| new") == 1
    with pytest.raises(ValueError, match="markers"):
        fb.write_between_markers("no markers\n", "x")


def test_docs_page_table_is_what_the_stored_results_give():
    """docs/failover.md's table is written from docs/bench/failover.json, never by hand."""
    page = (REPO / "docs" / "failover.md").read_text()
    assert fb.MARK_BEGIN in page and fb.MARK_END in page
    between = page.split(fb.MARK_BEGIN)[1].split(fb.MARK_END)[0]
    results = json.loads((REPO / "docs" / "bench" / "failover.json").read_text())
    assert between.strip() == fb.table(results).strip()


# ---- arguments, plan, estimate -----------------------------------------------------------------------------


def test_default_arguments():
    args = fb.parse_args([])
    assert args.profiles == ["v2-default", "v2-unicast", "v3-fast", "v3-fast-sync", "v3-fast-sync-delay"]
    assert args.events == ["crash", "graceful", "failback", "reload", "weight_change"]
    assert args.runs == 5
    assert not args.dry_run and not args.replot


def test_subset_arguments():
    args = fb.parse_args(["--profiles", "v3-fast-sync,v2-default", "--events", "crash", "--runs", "2", "--dry-run"])
    assert args.profiles == ["v3-fast-sync", "v2-default"]
    assert args.events == ["crash"]
    assert (args.runs, args.dry_run) == (2, True)


@pytest.mark.parametrize(
    "argv",
    [["--profiles", "v4-magic"], ["--events", "crash,meteor"], ["--runs", "0"], ["--profiles", ""], ["--runs", "x"]],
)
def test_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        fb.parse_args(argv)
    assert exc.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_estimate():
    one = fb.event_seconds("crash")
    assert one == fb.RESTORE_S + fb.PRE_S + fb.POST_S["crash"] + fb.DOWNLOAD_S + fb.COLLECT_S
    assert fb.event_seconds("weight_change") > fb.SITE_DIRECTORS_S
    fixed = fb.SETUP_S + 2 * fb.SITE_S
    assert fb.estimate(["v3-fast"], ["crash"], 3, boot=False) == pytest.approx(fixed + 3 * one)
    assert fb.estimate(["v3-fast"], ["crash"], 3) == pytest.approx(fb.BOOT_S + fb.FIRST_SITE_S + fixed + 3 * one)
    full = fb.estimate(list(fb.PROFILES), list(fb.EVENTS), 5)
    assert 2 * 3600 < full < 6 * 3600, "the default plan takes hours, most of it weight_change's site runs"


@pytest.mark.parametrize(
    ("seconds", "shown"), [(59, "1 min"), (600, "10 min"), (3600, "1 h 00 min"), (14230, "3 h 57 min")]
)
def test_duration(seconds, shown):
    assert fb.duration(seconds) == shown


def test_dry_run_prints_the_plan_and_touches_nothing(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError(f"a dry run ran {args}")

    monkeypatch.setattr(fb.subprocess, "run", refuse)
    monkeypatch.setattr(fb.subprocess, "Popen", refuse)
    monkeypatch.setattr(fb.time, "sleep", refuse)
    monkeypatch.setattr(fb, "take_lock", refuse)
    monkeypatch.setattr(Path, "write_text", refuse)
    lines: list[str] = []
    fb.dry_run(fb.parse_args(["--profiles", "v2-default,v3-fast-sync", "--runs", "3"]), out=lines.append)
    text = "\n".join(lines)
    assert lines[0].startswith("plan: 2 profiles x 5 events x 3 runs = 30 runs; expected lab time about ")
    assert fb.duration(fb.estimate(["v2-default", "v3-fast-sync"], list(fb.EVENTS), 3)) in lines[0]
    assert "ansible-playbook site.yml -i inventories/lab -e @.build/bench-failover/v3-fast-sync.json" in text
    assert '"version": 3, "unicast": true, "sync": {"enabled": true, "id": 51}' in text
    assert "python -m lab link dr1 down" in text
    assert "systemctl kill --signal=KILL keepalived" in text
    assert "ssh dr1 'cut -d" in text
    assert "systemctl stop keepalived" in text and "systemctl reload keepalived" in text
    assert "--limit localhost,directors" in text and '"weight": 2' in text
    crash_window = fb.PRE_S + fb.POST_S["crash"] + fb.TAKEOVER_WAIT_S  # 3 + 12 + 30
    assert crash_window == 45
    assert (
        f"lvs-ha-probe.py http://192.168.100.10:80/ {crash_window} {fb.PROBE_INTERVAL_S} {fb.PROBE_TIMEOUT_S}" in text
    )
    for event in fb.EVENTS:
        assert f"  {event} x 3, each run" in text
    # each profile's site run (and the last, as it ships) comes after keepalived stopped on both directors
    site_runs = [i for i, line in enumerate(lines) if "ansible-playbook site.yml" in line and "--limit" not in line]
    assert len(site_runs) == 3
    for i in site_runs:
        assert lines[i - 2 : i] == [f"    ssh {host} '{fb.STOP_KEEPALIVED}'" for host in ("dr1", "dr2")]


def test_shown_names_the_lab_host():
    from lab import access, topology

    argv = access.ssh_argv(topology.host("dr2"), "ip -o addr")
    assert fb.shown(argv) == "ssh dr2 'ip -o addr'"
    assert fb.shown([sys.executable, "-m", "lab", "link", "dr1", "up"]) == "python -m lab link dr1 up"


def test_watcher_is_bounded_and_reports_changes():
    bench = fb.Bench(fb.Runner(dry=True, out=lambda _line: None), fb.site_vars())
    script = bench.watcher("/run/x.log", 42.3)
    assert "+ 43 ))" in script and 'while [ "${now%.*}" -lt "$end" ]' in script
    assert '*" 192.168.100.10/"*) s=1' in script and "sleep 0.05" in script
    assert script.endswith(">/run/x.log 2>&1 </dev/null & echo $! >/run/x.log.pid")
    assert "while [ $i -lt 4 ]" in bench.downloads(25), "the download loop is bounded in count"


# ---- the plot ----------------------------------------------------------------------------------------------


def test_plot_writes_a_png(tmp_path):
    bench_py = REPO / ".build" / "bench-py"  # where make bench-failover installs matplotlib
    if bench_py.is_dir() and str(bench_py) not in sys.path:
        sys.path.append(str(bench_py))
    pytest.importorskip("matplotlib")
    timelines = {
        "crash": [[[-1.0, 0.01, True], [0.1, 3.0, False], [0.5, 0.02, True]], [[-0.5, 0.01, True]]],
        "reload": [[[-1.0, 0.01, True], [1.0, 0.012, True]]],
    }
    path = tmp_path / "bench" / "failover-v3-fast.png"
    assert fb.plot("v3-fast", timelines, path)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    assert width > 500 and height > 300


def test_plot_without_timelines_writes_nothing(tmp_path):
    path = tmp_path / "none.png"
    assert not fb.plot("v3-fast", {}, path)
    assert not path.exists()


@pytest.fixture
def page(tmp_path, monkeypatch):
    """docs/failover.md, docs/bench/failover.json and the PNGs under tmp_path."""
    page = tmp_path / "failover.md"
    page.write_text(f"# Failover\n{fb.MARK_BEGIN}\nNot yet measured.\n{fb.MARK_END}\nend\n")
    monkeypatch.setattr(fb, "RESULTS", tmp_path / "bench" / "failover.json")
    monkeypatch.setattr(fb, "PAGE", page)
    monkeypatch.setattr(fb, "DOCS", tmp_path)
    return page


def test_publish_writes_the_json_the_page_and_prints_the_goals(tmp_path, page, monkeypatch, capsys):
    monkeypatch.setattr(fb, "plot", lambda profile, timelines, path: False)
    results = {"profiles": {"v3-fast": {"reload": figures([0, 0], [0, 0], [0, 0], [None, None])}}, "runs": 2}
    fb.publish(results, {}, ["v3-fast"])
    assert json.loads((tmp_path / "bench" / "failover.json").read_text()) == results
    text = page.read_text()
    assert "| v3-fast | reload | 2 | 0 / 0 | 0 / 0 | 0 / 0 | none |" in text
    assert "Not yet measured" not in text and text.endswith(f"{fb.MARK_END}\nend\n")
    out = capsys.readouterr().out
    assert "- v3-fast reload: 0 failed: met" in out
    assert "- v3-fast-sync crash: median outage <= 0.5 s: not measured" in out


def test_timelines_are_kept_as_gzipped_json_that_depends_on_nothing_but_them(tmp_path):
    path = tmp_path / "bench" / "timelines.json.gz"
    assert fb.load_timelines(path) == {}
    timelines = {"v3-fast": {"crash": [[[-1.0, 0.01, True], [0.1, None, False]]]}}
    fb.save_timelines(timelines, path)
    first = path.read_bytes()
    assert fb.load_timelines(path) == timelines
    fb.save_timelines(timelines, path)
    assert path.read_bytes() == first, "no time in the gzip header: the same timelines, the same file"


def test_publish_keeps_a_figure_it_could_only_draw_with_fewer_panels(tmp_path, page, monkeypatch, capsys):
    monkeypatch.setattr(fb, "REPO", tmp_path)
    monkeypatch.setattr(fb, "OUT", tmp_path / "out")
    monkeypatch.setattr(fb, "backup_priority", lambda: 90)
    monkeypatch.setattr(fb, "site_vars", lambda: {"lvs_vrrp": {"advert_int": 1}})
    drawn = []
    monkeypatch.setattr(fb, "plot", lambda profile, timelines, path: drawn.append((sorted(timelines), path)) or True)
    run = figures([0], [0], [0], [None])
    results = {"profiles": {"v3-fast": {"crash": run, "reload": run}}, "runs": 1}
    reload_only = {"v3-fast": {"reload": [[[0.0, 0.01, True]]]}}
    fb.png("v3-fast").parent.mkdir(parents=True, exist_ok=True)
    fb.png("v3-fast").write_bytes(b"the crash panel, drawn before")
    fb.publish(results, reload_only, ["v3-fast"])
    assert fb.png("v3-fast").read_bytes() == b"the crash panel, drawn before"
    assert drawn == [(["reload"], tmp_path / "out" / "failover-v3-fast.png")]
    assert "kept bench/failover-v3-fast.png: no timeline is kept for v3-fast crash" in capsys.readouterr().out
    drawn.clear()
    fb.publish(results, {"v3-fast": {**reload_only["v3-fast"], "crash": [[[0.0, 0.01, True]]]}}, ["v3-fast"])
    assert drawn == [(["crash", "reload"], fb.png("v3-fast"))], "every event kept: the figure is drawn again"


class FakeLab(fb.Runner):
    """A Runner that answers as a healthy lab would: the event at 100.0 on the hosts' clock, the client failing
    from 100.1 to 103.6, dr2 taking the VIP at 103.5, one download broken and one complete."""

    def __init__(self):
        super().__init__(dry=False)
        self.commands: list[str] = []

    def say(self, message):
        self.commands.append(f"# {message}")

    def run(self, argv, timeout=120, check=True):
        command = fb.shown(argv)
        self.commands.append(command)
        if "lab link" in command:
            return "100.000\n"
        if "systemctl is-active keepalived" in command:
            return "active\n" + (IP_WITH_VIP if "dr1" in command else IP_WITHOUT_VIP) + TABLE
        if "/proc/uptime; systemctl" in command:
            return "100.0\n"
        if command.startswith("ssh dr2 'kill $(cat"):
            return "90.00 0\n103.50 1\n"
        return ""

    def start(self, argv, name):
        self.commands.append(f"{fb.shown(argv)} &")
        if name.startswith("probe"):
            lines = [[97.0 + i / 10, None if 100.1 <= 97.0 + i / 10 < 103.6 else "a", 0.01] for i in range(100)]
            return "\n".join(json.dumps(line) for line in lines) + '\n{"summary": {}}\n'
        return '{"complete": false, "error": "reset"}\n{"complete": true}\n'

    def begun(self, handle):
        return bool(handle)

    def finish(self, handle, timeout):
        return handle

    def sleep(self, seconds):
        self.commands.append(f"sleep {seconds:g}")

    def until(self, what, check, limit, every=1.0):
        return check()


@pytest.mark.parametrize("event", ["crash", "graceful", "reload"])
def test_a_run_against_a_fake_lab(event):
    lab = FakeLab()
    run = fb.Bench(lab, fb.site_vars()).run("v2-default", event)
    assert run["outage_s"] == pytest.approx(3.6)  # last answer at 100.0, next at 103.6
    assert run["failed"] == 35
    assert (run["broken_downloads"], run["downloads"]) == (1, 2)
    assert run["takeover_s"] == pytest.approx(3.5)
    assert run["probes"] == 100 and len(run["timeline"]) == 100
    # the order: a healthy pair, the watcher, the client, the event, the window, the collection
    order = [c for c in lab.commands if not c.startswith("#")]
    health = max(i for i, c in enumerate(order) if "systemctl is-active keepalived" in c)
    watcher = next(i for i, c in enumerate(order) if "nohup sh -c" in c and c.startswith("ssh dr2"))
    prober = next(i for i, c in enumerate(order) if "lvs-ha-probe.py" in c)
    stop = order.index("ssh client 'touch /run/lvs-ha-bench.stop'")
    assert health < watcher < prober < stop
    assert order[prober + 2] == f"sleep {fb.PRE_S}" and order[stop - 1] == f"sleep {fb.POST_S[event]}"


class Answering(FakeLab):
    """FakeLab, with the answer of each command that contains one of `answers`' keys replaced."""

    def __init__(self, answers):
        super().__init__()
        self.answers = answers

    def run(self, argv, timeout=120, check=True):
        command = fb.shown(argv)
        for part, answer in self.answers.items():
            if part in command:
                self.commands.append(command)
                return answer
        return super().run(argv, timeout, check)


def test_a_traced_run_records_what_the_new_holder_saw(tmp_path, monkeypatch):
    monkeypatch.setattr(fb, "OUT", tmp_path)
    lab = Answering(
        {
            "ipvsadm -Lnc": "TCP 14:59 ESTABLISHED 192.168.100.50:40000 192.168.100.10:80 192.168.100.221:80\n",
            "ssh dr2 'sleep 1; cat /run/lvs-ha-bench-trace-": '[100.2, "out", "192.168.100.10", 80, '
            '"192.168.100.50", 40000, "R.", 0, "02:00:c0:a8:64:ca"]\n',
            "ssh client 'sleep 1; cat /run/lvs-ha-bench-trace-": '[100.2, "in", "192.168.100.10", 80, '
            '"192.168.100.50", 40000, "R.", 0, "02:00:c0:a8:64:dd"]\n',
        }
    )
    fb.Bench(lab, fb.site_vars(), trace=True).run("v2-default", "crash")
    order = [c for c in lab.commands if not c.startswith("#")]

    def sniffer(host):
        return next(
            i
            for i, c in enumerate(order)
            if c.startswith(f"ssh {host}") and "lvs-ha-sniff.py ens33 192.168.100.10" in c
        )

    before = next(i for i, c in enumerate(order) if "ipvsadm -Lnc" in c)
    prober = next(i for i, c in enumerate(order) if "lvs-ha-probe.py" in c)
    pull = next(i for i, c in enumerate(order) if "lab link dr1 down" in c)
    assert sniffer("dr2") < prober and sniffer("client") < prober < before < pull
    assert "ESTABLISHED 192.168.100.50:40000" in (tmp_path / "conns-1.txt").read_text()
    assert '"02:00:c0:a8:64:ca"' in (tmp_path / "trace-1.jsonl").read_text()
    assert '"02:00:c0:a8:64:dd"' in (tmp_path / "client-trace-1.jsonl").read_text()  # a reset from web1


def test_a_traced_failback_asks_the_cut_off_director_nothing_before_the_plug(tmp_path, monkeypatch):
    monkeypatch.setattr(fb, "OUT", tmp_path)
    lab = Answering({"ssh dr2 'ip -o -4 addr show": IP_WITH_VIP, "curl": "200"})
    fb.Bench(lab, fb.site_vars(), trace=True).run("v2-default", "failback")
    order = [c for c in lab.commands if not c.startswith("#")]
    plug = max(i for i, c in enumerate(order) if "lab link dr1 up" in c)  # the event, after the restore's
    asked = [i for i, c in enumerate(order) if c.startswith("ssh dr1") and "ipvsadm -Lnc" in c]
    assert asked and min(asked) > plug, "dr1's table is read after the plug only"


def test_an_untraced_run_records_nothing_more(tmp_path, monkeypatch):
    monkeypatch.setattr(fb, "OUT", tmp_path)
    lab = FakeLab()
    fb.Bench(lab, fb.site_vars()).run("v2-default", "crash")
    assert not any("sniff" in c or "ipvsadm -Lnc" in c for c in lab.commands)
    assert list(tmp_path.iterdir()) == []


def test_an_unhealthy_pair_stops_the_run():
    class Broken(FakeLab):
        def run(self, argv, timeout=120, check=True):
            out = super().run(argv, timeout, check)
            return out.replace("active\n", "failed\n", 1) if "is-active" in fb.shown(argv) else out

    with pytest.raises(RuntimeError, match="dr1: keepalived not active"):
        fb.Bench(Broken(), fb.site_vars()).run("v2-default", "crash")


def test_a_run_whose_probes_miss_the_event_stops():
    class Late(FakeLab):
        def run(self, argv, timeout=120, check=True):
            out = super().run(argv, timeout, check)
            return "500.000\n" if out == "100.000\n" else out

    with pytest.raises(RuntimeError, match="do not cover the event"):
        fb.Bench(Late(), fb.site_vars()).run("v2-default", "crash")


class FlakyBench:
    """bench.run that cannot count `misses` times, then returns figures."""

    def __init__(self, misses):
        self.misses, self.calls = misses, 0

    def run(self, profile, event):
        self.calls += 1
        if self.calls <= self.misses:
            raise fb.NotCounted(f"{profile} {event}: the probes do not cover the event")
        return {"failed": 0}


def test_a_run_that_cannot_count_is_run_again(capsys):
    bench = FlakyBench(misses=fb.ATTEMPTS - 1)
    assert fb.counted_run(bench, fb.Runner(), "v3-fast", "crash") == {"failed": 0}
    assert bench.calls == fb.ATTEMPTS
    assert capsys.readouterr().out.count("not counted, run again") == fb.ATTEMPTS - 1


def test_the_bench_stops_when_no_attempt_counts():
    bench = FlakyBench(misses=fb.ATTEMPTS)
    with pytest.raises(fb.NotCounted):
        fb.counted_run(bench, fb.Runner(), "v3-fast", "crash")
    assert bench.calls == fb.ATTEMPTS


def test_weight_change_alternates_one_site_run_per_run(variables):
    """Run 1 of a profile sets web1 to WEIGHT, run 2 puts the profile's weight back, run 3 sets WEIGHT again:
    one directors-only site run each; a deploy starts over from the profile's weights."""
    lines: list[str] = []
    bench = fb.Bench(fb.Runner(dry=True, out=lines.append), variables)

    def site_runs():
        runs = [line for line in lines if "ansible-playbook site.yml" in line]
        lines.clear()
        return runs

    for extra in ("v3-fast-weight.json", "v3-fast.json", "v3-fast-weight.json"):
        bench.event("v3-fast", "weight_change")
        runs = site_runs()
        assert len(runs) == 1 and "--limit localhost,directors" in runs[0]
        assert f"-e @.build/bench-failover/{extra}" in runs[0]
    bench.deploy("v3-fast")
    site_runs()
    bench.event("v3-fast", "weight_change")
    assert "-e @.build/bench-failover/v3-fast-weight.json" in site_runs()[0]

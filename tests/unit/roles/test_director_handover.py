# SPDX-License-Identifier: GPL-3.0-or-later
"""The order the director role keeps when a static table goes back to keepalived (tasks/ipvs_handover.yml):
the table is made the model before keepalived.conf is written (keepalived's reload then adopts every entry),
with the same services the static table task writes, and only then is the restore at boot removed. The lab
does it under the client's prober (molecule/reuse/side_effect.yml, the handover drill); these are the order and
the arguments, which a reordering of the role's files would break without a failing render."""

from __future__ import annotations

from pathlib import Path

import yaml

TASKS = Path(__file__).resolve().parents[3] / "roles" / "director" / "tasks"


def load(name: str) -> list[dict]:
    return yaml.safe_load((TASKS / name).read_text())


def module_tasks(tasks: list[dict]) -> list[tuple[str, dict]]:
    """(module, task) of each task, blocks flattened in order."""
    out = []
    for task in tasks:
        if "block" in task:
            out += module_tasks(task["block"])
            continue
        module = next(k for k in task if "." in k and k.split(".")[0] in ("ansible", "lvs"))
        out.append((module, task))
    return out


def test_the_handover_comes_before_keepalived_conf_and_only_with_keepalived_as_manager():
    imports = [
        (t["ansible.builtin.import_tasks"], t.get("when"))
        for t in load("main.yml")
        if "ansible.builtin.import_tasks" in t
    ]
    files = [pair[0] for pair in imports]
    assert files.index("ipvs_handover.yml") < files.index("keepalived.yml")
    assert dict(imports)["ipvs_handover.yml"] == "director_ipvs_manager == 'keepalived'"
    assert dict(imports)["ipvs_static.yml"] == "director_ipvs_manager == 'modules'"


def test_the_handover_writes_the_static_tables_services_then_removes_the_restore():
    static = dict(module_tasks(load("ipvs_static.yml")))["lvs.ha.ipvs_table"]
    steps = module_tasks(load("ipvs_handover.yml"))
    modules = [pair[0] for pair in steps]
    table = dict(steps)["lvs.ha.ipvs_table"]
    assert table["lvs.ha.ipvs_table"]["services"] == static["lvs.ha.ipvs_table"]["services"]
    assert table["lvs.ha.ipvs_table"]["purge"] == "managed"
    assert table["lvs.ha.ipvs_table"]["save_to"] == "{{ director_ipvs_rules_path }}"
    # the table before anything of the restore goes; the rules file last (the next run's sign of a handover)
    assert modules.index("lvs.ha.ipvs_table") < modules.index("ansible.builtin.systemd_service")
    removals = [t["ansible.builtin.file"]["path"] for m, t in steps if m == "ansible.builtin.file"]
    assert removals == ["/etc/systemd/system/{{ director__ipvs_unit }}", "{{ director_ipvs_rules_path }}"]
    assert steps[-1][0] == "ansible.builtin.file"
    # never a stop of the restore unit: keepalived requires it, so systemd would stop keepalived too
    assert all("state" not in t[m] for m, t in steps if m == "ansible.builtin.systemd_service")

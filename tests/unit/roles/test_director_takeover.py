# SPDX-License-Identifier: GPL-3.0-or-later
"""The switch from keepalived's virtual_servers to a static table (director_ipvs_manager: modules where the role
wrote no table before): tasks/ipvs_takeover.yml writes the model and its rules file before keepalived.conf loses
the virtual_servers, and the reload's handler puts back what keepalived's reload deletes, the moment it goes.

The order and the conditions are read from the role's files. The handler's script runs here against stand-ins
for systemctl and ipvsadm that act as keepalived and the kernel would (the reload deletes the services one after
the other, a moment later; ipvsadm -R refuses what is there and goes on): that is its decision logic only. The
lab runs it on real kernels under the client's prober (molecule/reuse/handover.yml, the way back)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.lvs.ha.tests.unit.roles.render import role_vars

ROLE = Path(__file__).resolve().parents[3] / "roles" / "director"
SWITCH = "Reload keepalived, keeping the static table"


def load(*parts: str) -> list[dict]:
    return yaml.safe_load(ROLE.joinpath(*parts).read_text())


def handler(name: str) -> dict:
    return next(h for h in load("handlers", "main.yml") if h["name"] == name)


def test_the_rules_file_is_looked_for_before_either_change_of_manager_and_keepalived_conf():
    imports = [
        (t["ansible.builtin.import_tasks"], t.get("when"))
        for t in load("tasks", "main.yml")
        if "ansible.builtin.import_tasks" in t
    ]
    files = [pair[0] for pair in imports]
    assert files.index("ipvs_rules.yml") < files.index("ipvs_handover.yml") < files.index("keepalived.yml")
    assert files.index("ipvs_rules.yml") < files.index("ipvs_takeover.yml") < files.index("keepalived.yml")
    assert dict(imports)["ipvs_takeover.yml"] == "director_ipvs_manager == 'modules'"
    assert load("tasks", "ipvs_rules.yml")[0]["register"] == "director__static_rules"


def test_the_takeover_writes_the_static_tables_services_and_rules_file_only_where_none_was_written():
    (task,) = load("tasks", "ipvs_takeover.yml")
    (static,) = [t for t in load("tasks", "ipvs_static.yml") if "lvs.ha.ipvs_table" in t]
    assert task["lvs.ha.ipvs_table"]["services"] == static["lvs.ha.ipvs_table"]["services"]
    assert task["lvs.ha.ipvs_table"]["save_to"] == "{{ director_ipvs_rules_path }}"
    assert task["lvs.ha.ipvs_table"]["purge"] == "managed"
    assert "not director__static_rules.stat.exists" in task["when"]


def test_a_switch_reloads_with_the_handler_that_keeps_the_table_and_only_a_switch_does():
    plain = handler("Reload keepalived")
    switch = handler(SWITCH)
    assert switch["listen"] == "Reload keepalived"
    assert "not director__ipvs_switch | bool" in plain["when"]
    assert "director__ipvs_switch | bool" in switch["when"]
    # both skip a reload right after the first start
    assert plain["when"][0] == switch["when"][0]
    variables = role_vars("director")
    assert "director_ipvs_manager == 'modules'" in variables["director__ipvs_switch"]
    assert "director__static_rules.stat.exists | default(true)" in variables["director__ipvs_switch"]


STUB_SYSTEMCTL = """#!/bin/bash
# keepalived's reload, a moment later: each service of $STATE/keepalived goes, real servers first, one by one
[ "$1" = reload ] || exit 1
(
  sleep 0.2
  while read -r proto addr; do
    grep -v -F -- "-a $proto $addr " "$STATE/kernel" > "$STATE/k" ; mv "$STATE/k" "$STATE/kernel"
    grep -v -x -F -- "-A $proto $addr -s rr" "$STATE/kernel" > "$STATE/k"; mv "$STATE/k" "$STATE/kernel"
    echo "$proto $addr" >> "$STATE/deleted"
    sleep 0.05
  done < "$STATE/keepalived"
) > /dev/null 2>&1 &
"""
STUB_IPVSADM = """#!/bin/bash
# the kernel's table in $STATE/kernel; -R adds each line that is not there and refuses the others
case "$1" in
  -Sn) cat "$STATE/kernel" ;;
  -R) rc=0
      while read -r line; do
        if grep -q -x -F -- "$line" "$STATE/kernel"; then echo "Service already exists" >&2; rc=1
        else echo "$line" >> "$STATE/kernel"; fi
      done
      exit $rc ;;
  *) exit 2 ;;
esac
"""
TABLE = [
    "-A -t 192.168.100.20:8080 -s rr",
    "-a -t 192.168.100.20:8080 -r 192.168.100.221:8080 -g -w 1",
    "-a -t 192.168.100.20:8080 -r 192.168.100.222:8080 -g -w 2",
    "-A -t [2001:db8::20]:8080 -s rr",
    "-a -t [2001:db8::20]:8080 -r [2001:db8::221]:8080 -g -w 1",
]
FOREIGN = ["-A -t 192.168.100.99:25 -s rr", "-a -t 192.168.100.99:25 -r 192.168.100.230:25 -g -w 1"]


def run_switch(tmp_path: Path, keepalived_had: list[str]) -> tuple[subprocess.CompletedProcess, Path]:
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    for name, text in (("systemctl", STUB_SYSTEMCTL), ("ipvsadm", STUB_IPVSADM)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    rules = tmp_path / "rules"
    rules.write_text("# written by lvs.ha.ipvs_table\n" + "\n".join(TABLE) + "\n")
    (state / "kernel").write_text("\n".join(TABLE + FOREIGN) + "\n")
    (state / "keepalived").write_text("".join(f"{k}\n" for k in keepalived_had))
    variables = role_vars("director", director_ipvs_rules_path=str(rules))
    cmd = Templar(loader=DataLoader(), variables=variables).template(
        trust_as_template(handler(SWITCH)["ansible.builtin.shell"]["cmd"])
    )
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", STATE=str(state))
    done = subprocess.run(["bash", "-c", cmd], env=env, capture_output=True, text=True, timeout=30, check=False)
    return done, state


def test_the_services_keepalived_deletes_are_back_and_the_others_untouched(tmp_path):
    done, state = run_switch(tmp_path, ["-t 192.168.100.20:8080", "-t [2001:db8::20]:8080"])
    assert done.returncode == 0, done.stderr
    assert (state / "deleted").read_text().split("\n")[:2] == ["-t 192.168.100.20:8080", "-t [2001:db8::20]:8080"]
    assert sorted((state / "kernel").read_text().splitlines()) == sorted(TABLE + FOREIGN)
    restores = int(done.stdout.split("restored at ")[1].split()[0])
    assert restores >= 1, done.stdout


def test_a_table_keepalived_never_had_is_left_as_it_is(tmp_path):
    """keepalived had only one of the two services: the other never goes, and the watch ends once the deleted one
    is back and all stayed for a while (not at its 10 s limit)."""
    done, state = run_switch(tmp_path, ["-t 192.168.100.20:8080"])
    assert done.returncode == 0, done.stderr
    assert sorted((state / "kernel").read_text().splitlines()) == sorted(TABLE + FOREIGN)
    assert "restored at" in done.stdout

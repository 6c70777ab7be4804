# SPDX-License-Identifier: GPL-3.0-or-later
"""Render a role's template the way its template task does, and test keepalived.conf with `keepalived -t`.

render() uses Ansible's own templating (ansible.template.Templar, the template action's trim_blocks), over the
role's defaults/main.yml and vars/main.yml (loaded by Ansible's DataLoader, so their own templates resolve
lazily as on a host) with the given values on top, as a playbook's role `vars:` would, and `ansible_managed`
and `inventory_hostname` defined. So a test renders exactly what the role writes.

keepalived_test() runs `keepalived -t -f FILE` on a rendered keepalived.conf. keepalived refuses a loopback
interface for VRRP ("cannot use a loopback interface") and an interface that does not exist ("Non-existent
interface specified"), so the tests render with an Ethernet interface this machine has (interface()):
`-t` only parses and checks the file, it sends no advert and changes no address, and needs no root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLES = Path(__file__).resolve().parents[3] / "roles"
KEEPALIVED = "/usr/sbin/keepalived"
ARPHRD_ETHER = "1"


def role_vars(role: str, **given) -> dict:
    """The variables a role's template sees on host dr1: defaults, then vars, then the given values."""
    loader = DataLoader()
    variables = {"inventory_hostname": "dr1", "ansible_managed": "Ansible managed"}
    for layer in ("defaults", "vars"):
        path = ROLES / role / layer / "main.yml"
        if path.exists():
            variables.update(loader.load_from_file(str(path), trusted_as_template=True) or {})
    variables.update(given)
    return variables


def render(role: str, template: str, **given) -> str:
    """The text the role's template task writes from templates/<template> with these role variables."""
    source = ROLES / role / "templates" / template
    templar = Templar(loader=DataLoader(), variables=role_vars(role, **given))
    text = templar.template(
        trust_as_template(source.read_text()), escape_backslashes=False, overrides={"trim_blocks": True}
    )
    return text


def interface() -> str | None:
    """An Ethernet interface of this machine (keepalived -t wants the VRRP interface to exist), up ones first."""
    found = []
    for dev in sorted(Path("/sys/class/net").iterdir()):
        try:
            kind = (dev / "type").read_text().strip()
            state = (dev / "operstate").read_text().strip()
        except OSError:
            continue
        if kind == ARPHRD_ETHER and dev.name != "lo":
            found.append((state != "up", dev.name))
    return min(found)[1] if found else None


def need_keepalived() -> str:
    """The interface to render with; skips (fails in CI, where `make test` installs keepalived first) without
    keepalived or an Ethernet interface."""
    missing = None
    if not os.access(KEEPALIVED, os.X_OK) and shutil.which("keepalived") is None:
        missing = f"{KEEPALIVED} is not installed (make lab-setup installs it)"
    elif interface() is None:
        missing = "this machine has no Ethernet interface for keepalived -t to bind the VRRP instance to"
    if missing:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    return interface()


def keepalived_test(text: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """keepalived -t -f on the text (rc 0: keepalived accepts it; its complaints are in stderr)."""
    conf = tmp_path / "keepalived.conf"
    conf.write_text(text)
    binary = KEEPALIVED if os.access(KEEPALIVED, os.X_OK) else shutil.which("keepalived")
    return subprocess.run([binary, "-t", "-f", str(conf)], capture_output=True, text=True, timeout=30, check=False)

# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the host-kernel integration targets, each in a throwaway network namespace.

For every target (default: those whose aliases name `netns`):
  * a fresh namespace lvsha-it-<random> with lo up and an interface ens33 (dummy; a veth pair kept inside the
    namespace when the kernel has no dummy driver);
  * a private mount namespace inside it where empty temp dirs are bind-mounted over /etc/sysctl.d and
    /etc/systemd/system, so the host's real ones are never written;
  * ansible-playbook -i localhost, -c local with a wrapper playbook that runs the target as a role.
The namespace and temp dirs are removed whatever happens. As a guard, the host's /etc/sysctl.d and its own
ARP sysctls are compared before and after the run.

Usage: run_netns.py [-v] [TARGET ...]      (root; stdlib only)
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TARGETS = REPO / "tests" / "integration" / "targets"
SYSCTL_D = Path("/etc/sysctl.d")
HOST_SYSCTLS = [
    Path(f"/proc/sys/net/ipv4/conf/{name}/{key}")
    for name in ("all", "default", "lo")
    for key in ("arp_ignore", "arp_announce")
]
CONFIG = """\
[defaults]
collections_path = {collections}
roles_path = {roles}
retry_files_enabled = False
stdout_callback = default
callback_result_format = yaml
"""
WRAPPER = """\
- name: Integration target {target}
  hosts: localhost
  gather_facts: false
  roles:
    - role: {target}
"""


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def netns_targets() -> list[str]:
    found = []
    for aliases in sorted(TARGETS.glob("*/aliases")):
        if "netns" in aliases.read_text().split():
            found.append(aliases.parent.name)
    return found


def host_state() -> dict:
    """What the run must never change on the host: /etc/sysctl.d and the host namespace's ARP sysctls."""
    files = {}
    if SYSCTL_D.is_dir():
        for path in sorted(SYSCTL_D.iterdir()):
            stat = path.lstat()
            files[path.name] = (stat.st_size, stat.st_mtime_ns)
    return {"sysctl.d": files, "sysctls": {str(p): p.read_text().strip() for p in HOST_SYSCTLS if p.exists()}}


def make_namespace() -> tuple[str, str]:
    name = f"lvsha-it-{secrets.token_hex(4)}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        kind = "dummy"
        if sh("ip", "-n", name, "link", "add", "ens33", "type", "dummy", check=False).returncode != 0:
            kind = "veth"  # no dummy driver: both ends stay inside the namespace
            sh("ip", "-n", name, "link", "add", "ens33", "type", "veth", "peer", "name", "ens33-peer")
            sh("ip", "-n", name, "link", "set", "ens33-peer", "up")
        sh("ip", "-n", name, "link", "set", "ens33", "up")
    except BaseException:
        sh("ip", "netns", "del", name, check=False)
        raise
    return name, kind


def run_target(target: str, verbose: int) -> bool:
    bindir = Path(sys.executable).parent
    playbook_cmd = bindir / "ansible-playbook"
    namespace, kind = make_namespace()
    work = Path(tempfile.mkdtemp(prefix=f"lvsha-it-{target}-"))
    try:
        sysctl_d = work / "sysctl.d"
        sysctl_d.mkdir()
        units = work / "systemd-system"
        units.mkdir()
        playbook = work / "playbook.yml"
        playbook.write_text(WRAPPER.format(target=target))
        config = work / "ansible.cfg"
        config.write_text(CONFIG.format(collections=REPO / "collections", roles=TARGETS))
        env = dict(
            os.environ,
            ANSIBLE_CONFIG=str(config),  # hermetic: no ~/.ansible.cfg, no /etc/ansible/ansible.cfg
            ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
            ANSIBLE_NOCOLOR="1",
            PATH=f"{bindir}:{os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}",
        )
        playbook_argv = [
            str(playbook_cmd),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ] + (["-" + "v" * verbose] if verbose else [])
        # $1 and $2 are the temp dirs to bind over /etc/sysctl.d and /etc/systemd/system; the rest is the command,
        # passed without a shell parse.
        inner = 'mount --bind "$1" /etc/sysctl.d && mount --bind "$2" /etc/systemd/system && shift 2 && exec "$@"'
        argv = [
            "ip",
            "netns",
            "exec",
            namespace,
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            inner,
            "sh",
            str(sysctl_d),
            str(units),
        ] + playbook_argv
        print(
            f"=== {target}: namespace {namespace} (ens33: {kind}), /etc/sysctl.d -> {sysctl_d}, "
            f"/etc/systemd/system -> {units}",
            flush=True,
        )
        started = time.monotonic()
        rc = subprocess.run(argv, env=env, cwd=work, check=False).returncode
        print(
            f"=== {target}: {'ok' if rc == 0 else f'FAILED (rc={rc})'} in {time.monotonic() - started:.1f}s", flush=True
        )
        return rc == 0
    finally:
        deleted = sh("ip", "netns", "del", namespace, check=False)
        if deleted.returncode != 0:
            print(f"warning: could not delete namespace {namespace}: {deleted.stderr.strip()}", file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="targets to run (default: every target aliased netns)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="pass -v... to ansible-playbook")
    options = parser.parse_args()
    if os.geteuid() != 0:
        print("run_netns: needs root (network namespaces, bind mounts)", file=sys.stderr)
        return 2
    for tool in ("ip", "unshare", "mount"):
        if shutil.which(tool) is None:
            print(f"run_netns: {tool} not found", file=sys.stderr)
            return 2
    if not SYSCTL_D.is_dir():
        print(f"run_netns: {SYSCTL_D} does not exist on this host; nothing to bind over", file=sys.stderr)
        return 2
    targets = options.targets or netns_targets()
    unknown = [t for t in targets if not (TARGETS / t / "tasks" / "main.yml").is_file()]
    if unknown or not targets:
        print(f"run_netns: no such target(s): {', '.join(unknown) or '(none found)'}", file=sys.stderr)
        return 2

    before = host_state()
    results = {}
    try:
        for target in targets:
            results[target] = run_target(target, options.verbose)
    finally:
        host_changed = host_state() != before
    passed = [t for t, ok in results.items() if ok]
    failed = [t for t, ok in results.items() if not ok]
    if host_changed:
        print("run_netns: the host /etc/sysctl.d or ARP sysctls changed during the run", file=sys.stderr)
    print(
        f"run_netns: {len(targets)} target(s), {len(passed)} passed, {len(failed)} failed"
        + (f" ({', '.join(failed)})" if failed else "")
        + ("; HOST STATE CHANGED" if host_changed else "")
    )
    return 1 if failed or host_changed else 0


if __name__ == "__main__":
    sys.exit(main())

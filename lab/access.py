"""How the controller reaches the lab's hosts: an ssh command line and the environment Ansible runs in.

The lab's commands (lab/cli.py), the bench (lab/bench.py) and the lab tests share these.
"""

from __future__ import annotations

from lab import paths, topology, vm


def ssh_argv(h: topology.Host, *command: str, timeout: int = 10) -> list[str]:
    return [
        "ssh",
        "-F",
        str(paths.SSH_CONFIG),
        "-o",
        f"ConnectTimeout={timeout}",
        "-o",
        "BatchMode=yes",
        str(h.address),
        *command,
    ]


def ansible_env() -> dict[str, str]:
    return dict(vm.child_env(), **topology.ansible_env(str(paths.SSH_CONFIG)))

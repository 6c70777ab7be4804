"""Where the lab keeps things: state under the checkout (ignored by git), kernels under /var/lib."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INVENTORY = REPO / "inventories" / "lab"  # the lab's hosts, the site model of the lab
# LAB_STATE lets a second lab run beside the first (with other ports: see topology.py).
STATE = Path(os.environ.get("LAB_STATE", REPO / ".lab")).resolve()
SHARED = STATE / "shared"  # shared read-write with the guest: status and control files
CONTROL = SHARED / "ctl"  # cable requests to the guest (python -m lab link)
KEYS = STATE / "keys"
USER_KEY = KEYS / "id_ed25519"
KNOWN_HOSTS = STATE / "known_hosts"
SSH_CONFIG = STATE / "ssh_config"
ENV_FILE = STATE / "env"
PID_FILE = STATE / "vm.pid"
VM_LOG = STATE / "vm.log"
# Not /var/cache: virtme-ng mounts a tmpfs there inside the guest, which would hide the modules.
KERNELS = Path("/var/lib/lvs-lab/kernel")
VENV_BIN = REPO / ".venv" / "bin"
# The hosts' own Debian roots and package repositories, one folder per release (lab/roots.py).
ROOTS = KERNELS.parent / "roots"


def host_key(name: str) -> Path:
    return KEYS / f"host_{name}_ed25519"

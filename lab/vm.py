"""The guest: QEMU through virtme-ng, with the machine's root tree shared read-only."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from lab import paths, roots, topology
from lab.log import say

ACCEL_CACHE = paths.KERNELS.parent / "accel"
KVM_PROBE_TIMEOUT = 25


def vng() -> str:
    return str(paths.VENV_BIN / "vng")


def base_argv(image: Path, accel: str, cpus: int, memory: str) -> list[str]:
    argv = [vng(), "--run", str(image), "--cpus", str(cpus), "--memory", memory]
    if accel == "tcg":
        argv.append("--disable-kvm")
    return argv


def child_env() -> dict[str, str]:
    """This environment with the venv's tools first (vng calls its helpers, virtme-run, ... by name)."""
    return dict(os.environ, PATH=f"{paths.VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")


def choose_accel(image: Path) -> str:
    """KVM when a guest really boots with it, TCG otherwise; the answer is kept per kernel pair."""
    forced = os.environ.get("LAB_ACCEL")
    if forced in ("kvm", "tcg"):
        return forced
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    key = f"{os.uname().release} {image.name}"
    if ACCEL_CACHE.exists():
        cached = json.loads(ACCEL_CACHE.read_text())
        if cached.get("key") == key:
            return cached["accel"]
    say(f"accelerator: probing KVM (a guest that does not answer in {KVM_PROBE_TIMEOUT} s means TCG)")
    probe = subprocess.Popen(
        [*base_argv(image, "kvm", 1, "512M"), "--exec", "true"],
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        accel = "kvm" if probe.wait(timeout=KVM_PROBE_TIMEOUT) == 0 else "tcg"
    except subprocess.TimeoutExpired:
        accel = "tcg"
    finally:
        kill_group(probe.pid)
    ACCEL_CACHE.write_text(json.dumps({"key": key, "accel": accel}))
    return accel


def kill_group(pid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def run(image: Path, command: list[str], memory: str = "1G", rwdirs: tuple[str, ...] = ()) -> int:
    """Boot a throw-away guest (no network) that runs one command; its output and status come back."""
    accel = choose_accel(image)
    argv = [*base_argv(image, accel, os.cpu_count() or 1, memory)]
    argv += [f"--rwdir={d}" for d in rwdirs]
    argv += ["--exec", shlex.join(command)]
    return subprocess.run(argv, env=child_env(), stdin=subprocess.DEVNULL, check=False).returncode


def hosts_tree(mode: str) -> Path:
    """What the guest exports to the hosts: this machine's root (shared), or the folder of the lab's own roots
    and package repositories, one folder per release (debian), never both. Each host is layered on its own
    release's root only (guest.lower_root)."""
    return paths.ROOTS if mode == "debian" else Path("/")


def hosts_tree_opts(tree: Path) -> str:
    """The hosts' tree as a second 9p export, read-only, which the guest mounts with cache=loose (the guest's
    page cache keeps what the hosts read; virtme-ng's own root mount caches nothing)."""
    return (
        f"-fsdev local,id={topology.HOSTS_TREE_TAG},path={tree},security_model=none,readonly=on,multidevs=remap "
        f"-device virtio-9p-pci,fsdev={topology.HOSTS_TREE_TAG},mount_tag={topology.HOSTS_TREE_TAG}"
    )


def lab_argv(image: Path, accel: str) -> list[str]:
    mode, release = roots.mode(), roots.release()
    tree = hosts_tree(mode)
    net = f"-netdev {topology.qemu_netdev()} -device virtio-net-pci,netdev=lab {hosts_tree_opts(tree)}"
    cache = os.environ.get("LAB_HOSTS_TREE_CACHE", "loose")  # `none` measures the lab without the cache
    zipcache = os.environ.get("LAB_ZIPCACHE", "1")  # `0` measures the hosts without lab/hostpy's cache
    fork = os.environ.get("LAB_FORK", "1")  # `0` measures the hosts without lab/hostpy's fork server
    guest = shlex.join(
        [
            "env",
            f"LAB_STATE={paths.STATE}",
            f"LAB_HOSTS_TREE_CACHE={cache}",
            f"LAB_ZIPCACHE={zipcache}",
            f"LAB_FORK={fork}",
            f"LAB_ROOTS={mode}",
            f"LAB_RELEASE={release}",
            str(paths.VENV_BIN / "python"),
            "-m",
            "lab",
            "guest",
        ]
    )
    return [
        *base_argv(image, accel, os.cpu_count() or 1, os.environ.get("LAB_MEMORY", "4G")),
        "--no-dhcp",
        f"--rwdir={paths.SHARED}",
        f"--qemu-opts={net}",
        "--exec",
        guest,
    ]


def start(image: Path, accel: str) -> subprocess.Popen:
    shutil.rmtree(paths.SHARED, ignore_errors=True)
    paths.CONTROL.mkdir(parents=True)
    with open(paths.VM_LOG, "wb") as log:
        proc = subprocess.Popen(
            lab_argv(image, accel),
            cwd=paths.REPO,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    paths.PID_FILE.write_text(str(proc.pid))
    return proc


def running_pid() -> int | None:
    try:
        pid = int(paths.PID_FILE.read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}/cmdline").exists() else b""
    return pid if b"vng" in cmdline or b"qemu" in cmdline else None


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(timeout: float = 30) -> bool:
    """Ask the guest to stop, then make sure nothing of it is left. Returns True if a lab was running."""
    pid = running_pid()
    if pid is None:
        paths.PID_FILE.unlink(missing_ok=True)
        return False
    (paths.SHARED / "stop").touch()
    deadline = time.monotonic() + timeout
    while group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    if group_alive(pid):
        say("guest did not stop in time: terminating QEMU")
        kill_group(pid, signal.SIGTERM)
        time.sleep(2)
        kill_group(pid)
    paths.PID_FILE.unlink(missing_ok=True)
    return True


def status() -> dict:
    try:
        return json.loads((paths.SHARED / "status.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


if __name__ == "__main__":
    sys.exit("use: python -m lab")

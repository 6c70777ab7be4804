"""Runs inside the guest kernel (as its --exec command): builds the lab network and boots the hosts.

Each lab host is a systemd-nspawn container with systemd as PID 1, its own network namespace (link
``ens33`` on the lab bridge) and its own writable layer over the shared root tree. Progress goes to
``status.json`` in the folder shared with the machine that runs the lab; ``stop`` there ends the lab, and
``ctl/<id>.json`` requests pull or plug a host's cable (its ``ens33`` down or up) from outside the host.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

from lab import paths, topology

RUN = Path("/run/lab")
LOWER = RUN / "lower"
CGROUP = Path("/sys/fs/cgroup")
# Enablement links in the shared tree that must not start on every host: the roles enable what a host needs.
KEEP_ENABLED = {"ssh.service"}
# Units that cost seconds of emulated CPU on every boot and do nothing for a lab host in a container:
# the console login, the per-user manager an SSH login would start, module loads for devices that are
# not there. A masked unit is visibly masked (`systemctl status`), never silently missing.
MASKED = (
    "console-getty.service",
    "user@.service",
    "modprobe@drm.service",
    "modprobe@loop.service",
    "modprobe@dm_mod.service",
    "modprobe@fuse.service",
    "modprobe@configfs.service",
)
GUEST_MODULES = ("virtio_net", "bridge", "veth", "overlay")


def sh(*argv: str) -> None:
    subprocess.run(argv, check=True)


class Status:
    """Phases and their times since the guest's command started, written for the host to follow."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.start = time.monotonic()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        self.data: dict = {"state": "starting", "guest_uptime_at_start": uptime, "phases": [], "hosts": {}}

    def phase(self, name: str) -> None:
        self.data["phases"].append({"name": name, "t": round(time.monotonic() - self.start, 2)})
        self.write()

    def set(self, **fields: object) -> None:
        self.data.update(fields)
        self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1))
        tmp.rename(self.path)


def lab_nic() -> str:
    """The guest's virtio NIC (QEMU user networking), the only non-loopback link at boot."""
    for entry in sorted(Path("/sys/class/net").iterdir()):
        if entry.name != "lo" and (entry / "device").exists():
            return entry.name
    raise RuntimeError("no network device in the guest (virtio_net not loaded?)")


def build_bridge() -> None:
    nic = lab_nic()
    sh("ip", "link", "add", topology.BRIDGE, "type", "bridge")
    sh("ip", "link", "set", nic, "master", topology.BRIDGE, "up")
    sh("ip", "addr", "add", f"{topology.GATEWAY}/{topology.SUBNET.prefixlen}", "dev", topology.BRIDGE)
    sh("ip", "link", "set", topology.BRIDGE, "up")


def whiteout(path: Path) -> None:
    """Hide a file of the shared tree in one host's layer (an overlayfs whiteout)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(path, 0o600 | 0o020000, os.makedev(0, 0))


def seed_layer(host: topology.Host, upper: Path) -> None:
    """The host's identity and access: hostname, machine id, SSH host key, a clean /root."""
    etc = upper / "etc"
    (etc / "ssh/sshd_config.d").mkdir(parents=True)
    (etc / "systemd/system").mkdir(parents=True)
    (etc / "hostname").write_text(f"{host.name}\n")
    (etc / "hosts").write_text(topology.etc_hosts())
    (etc / "machine-id").write_text(secrets.token_hex(16) + "\n")
    (etc / "fstab").write_text("# lvs.ha lab host: no file systems to mount\n")
    key = paths.host_key(host.name)
    for suffix, mode in (("", 0o600), (".pub", 0o644)):
        target = etc / f"ssh/ssh_host_ed25519_key{suffix}"
        target.write_bytes(Path(f"{key}{suffix}").read_bytes())
        target.chmod(mode)
    for other in ("rsa", "ecdsa"):
        for suffix in ("", ".pub"):
            if (LOWER / f"etc/ssh/ssh_host_{other}_key{suffix}").exists():
                whiteout(etc / f"ssh/ssh_host_{other}_key{suffix}")
    (etc / "ssh/sshd_config.d/lvs-lab.conf").write_text(
        "# lvs.ha lab host\n"
        "HostKey /etc/ssh/ssh_host_ed25519_key\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "UseDNS no\n"
    )
    for wants in (LOWER / "etc/systemd/system").glob("*.wants"):
        for link in wants.iterdir():
            if link.name not in KEEP_ENABLED:
                whiteout(upper / link.relative_to(LOWER))
    # System V scripts enabled in the shared tree: leave them as `update-rc.d NAME disable` would (a K link
    # in place of the S link), so that `systemctl enable` can turn them on again.
    for link in (LOWER / "etc").glob("rc[2-5].d/S[0-9][0-9]*"):
        whiteout(upper / link.relative_to(LOWER))
        script = link.name[3:]
        (upper / link.parent.relative_to(LOWER) / f"K01{script}").symlink_to(f"../init.d/{script}")
    for unit in MASKED:
        (etc / "systemd/system" / unit).symlink_to("/dev/null")
    root = upper / "root"
    (root / ".ssh").mkdir(parents=True, mode=0o700)
    os.setxattr(root, "trusted.overlay.opaque", b"y")  # the shared tree's /root stays hidden
    authorized = root / ".ssh/authorized_keys"
    authorized.write_text(paths.USER_KEY.with_suffix(".pub").read_text())
    authorized.chmod(0o600)


def prepare_root(host: topology.Host) -> Path:
    base = RUN / "hosts" / host.name
    base.mkdir(parents=True)
    # The layer cannot sit on an overlay (the guest's /run is tmpfs, but be explicit): a tmpfs each.
    sh("mount", "-t", "tmpfs", "-o", "size=2g,mode=0755", f"lab-{host.name}", str(base))
    upper, work, merged = base / "upper", base / "work", base / "root"
    for d in (upper, work, merged):
        d.mkdir()
    seed_layer(host, upper)
    sh("mount", "-t", "overlay", f"lab-{host.name}", "-o",
       f"lowerdir={LOWER},upperdir={upper},workdir={work}", str(merged))
    return merged


def prepare_network(host: topology.Host) -> None:
    ns = host.name
    sh("ip", "netns", "add", ns)
    sh("ip", "link", "add", host.veth, "type", "veth", "peer", "name", topology.INTERFACE, "netns", ns)
    sh("ip", "link", "set", host.veth, "master", topology.BRIDGE, "up")
    inside = ("ip", "-n", ns)
    sh(*inside, "link", "set", "lo", "up")
    sh(*inside, "addr", "add", f"{host.address}/{topology.SUBNET.prefixlen}", "dev", topology.INTERFACE)
    sh(*inside, "link", "set", topology.INTERFACE, "up")
    sh(*inside, "route", "add", "default", "via", str(topology.GATEWAY))


def start_host(host: topology.Host, root: Path, log_dir: Path) -> subprocess.Popen:
    cgroup = CGROUP / f"lab-{host.name}"
    cgroup.mkdir(exist_ok=True)
    release = os.uname().release
    argv = [
        "systemd-nspawn", "--quiet", "--boot",
        f"--directory={root}", f"--machine={host.name}", f"--hostname={host.name}",
        f"--network-namespace-path=/run/netns/{host.name}",
        "--register=no", "--keep-unit", "--link-journal=no", "--console=read-only",
        "--capability=CAP_NET_ADMIN,CAP_NET_RAW,CAP_SYS_MODULE",
        f"--bind-ro=/lib/modules/{release}",
    ]
    env = dict(os.environ, SYSTEMD_NSPAWN_API_VFS_WRITABLE="network")
    # Each container in a cgroup of its own (freezing it is how a test can crash a host).
    enter_cgroup = f'echo $$ > {cgroup / "cgroup.procs"} && exec "$@"'
    log = open(log_dir / f"{host.name}.console", "wb")  # noqa: SIM115 - the container keeps it
    return subprocess.Popen(["sh", "-c", enter_cgroup, "nspawn", *argv], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for_ssh(hosts: tuple[topology.Host, ...], status: Status, timeout: float) -> bool:
    pending = {h.name: h for h in hosts}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for name, h in list(pending.items()):
            try:
                with socket.create_connection((str(h.address), 22), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(4).startswith(b"SSH"):
                        del pending[name]
                        status.data["hosts"][name] = {"sshd": round(time.monotonic() - status.start, 2)}
                        status.write()
            except OSError:
                pass
        time.sleep(0.3)
    return not pending


def serve_control(ctl: Path) -> None:
    """Answer the cable requests (`python -m lab link HOST up|down`): <id>.json in, <id>.done out."""
    for request in sorted(ctl.glob("*.json")):
        try:
            job = json.loads(request.read_text())
            host, state = topology.host(job["host"]), job["state"]
            if state not in ("up", "down"):
                raise ValueError(f"state must be up or down, not {state!r}")
            p = subprocess.run(["ip", "-n", host.name, "link", "set", topology.INTERFACE, state],
                               capture_output=True, text=True, check=False)
            # The hosts share this kernel's clock: the time lets a drill place the pull among its samples.
            answer = {"rc": p.returncode, "error": p.stderr.strip(), "t": time.clock_gettime(time.CLOCK_BOOTTIME)}
        except (ValueError, KeyError, TypeError) as exc:
            answer = {"rc": 2, "error": f"{type(exc).__name__}: {exc}"}
        request.unlink()
        done = request.with_suffix(".tmp")
        done.write_text(json.dumps(answer))
        done.rename(request.with_suffix(".done"))


def main(argv: list[str]) -> int:
    paths.SHARED.mkdir(parents=True, exist_ok=True)
    status = Status(paths.SHARED / "status.json")
    (paths.SHARED / "stop").unlink(missing_ok=True)
    try:
        for module in GUEST_MODULES:
            sh("modprobe", module)
        build_bridge()
        RUN.mkdir(parents=True, exist_ok=True)
        LOWER.mkdir(exist_ok=True)
        # The shared tree without the guest's own overlays, cached by the guest: the hosts only read it.
        cache = os.environ.get("LAB_HOSTS_TREE_CACHE", "loose")
        sh("mount", "-t", "9p", "-o", f"trans=virtio,version=9p2000.L,cache={cache},ro,access=any,msize=512000",
           topology.HOSTS_TREE_TAG, str(LOWER))
        status.phase("network")
        roots = {}
        for h in topology.HOSTS:
            roots[h.name] = prepare_root(h)
            prepare_network(h)
        status.phase("layers")
        procs = {h.name: start_host(h, roots[h.name], paths.SHARED) for h in topology.HOSTS}
        status.phase("containers started")
        if not wait_for_ssh(topology.HOSTS, status, timeout=240):
            status.set(state="failed", error="sshd did not come up on every host")
        else:
            status.phase("sshd up")
            status.set(state="ready")
        stop = paths.SHARED / "stop"
        while not stop.exists():
            serve_control(paths.CONTROL)
            dead = [name for name, p in procs.items() if p.poll() is not None]
            if dead and status.data["state"] == "ready":
                status.set(state="degraded", error=f"container exited: {', '.join(dead)}")
            time.sleep(0.2)
        status.set(state="stopping")
        for p in procs.values():
            p.terminate()
        for p in procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        status.set(state="stopped")
        return 0
    except Exception as exc:
        status.set(state="failed", error=f"{type(exc).__name__}: {exc}")
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

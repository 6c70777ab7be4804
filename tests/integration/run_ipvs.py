# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the IPVS integration targets on a real kernel: one lab guest boot, both backends.

    .venv/bin/python tests/integration/run_ipvs.py [--backend netlink|ipvsadm] [--target ipvs_info ...]

The host kernel has no IPVS, so the modules must run in the lab kernel (`python -m lab run`: QEMU through
virtme-ng, the host's root tree shared read-only). Under TCG a Python process in the guest costs seconds, and
an Ansible controller there costs a minute per task when the machine is busy, so the controller stays on the
host and only the module processes go to the guest:

* one guest boots, loads ip_vs and runs a small agent (stdlib Python) that executes jobs dropped into a
  shared directory (argv + stdin in, rc + stdout + stderr out);
* ansible-playbook runs on the host, `-i localhost, -c local` with pipelining, over a wrapper playbook that
  includes the targets; its ansible_python_interpreter is a shim that hands the module (AnsiballZ on stdin)
  to the agent, so every module, `ansible.builtin.command: ipvsadm ...` included, runs as root in the guest
  against its kernel;
* once per backend: netlink with the project venv's Python (which has pyroute2), ipvsadm with
  /usr/bin/python3.

Exits non-zero when the guest does not come up, ip_vs does not load or any playbook fails; prints a summary.
Stdlib only.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / '.venv'
TARGETS = ['ipvs_service', 'ipvs_realserver', 'ipvs_info']
# backend -> the Python that runs the modules in the guest
INTERPRETERS = {'netlink': str(VENV / 'bin' / 'python'), 'ipvsadm': '/usr/bin/python3'}
BOOT_TIMEOUT = 600
JOB_TIMEOUT = 900

PLAYBOOK = """---
- name: IPVS integration targets
  hosts: localhost
  gather_facts: false
  tasks:
{includes}"""
INCLUDE = """    - name: Target {target}
      ansible.builtin.include_tasks: {path}
"""

# Runs in the guest as root. Jobs are <id>.job files (JSON); results are written to <id>.out atomically.
AGENT = r'''
import base64, json, os, subprocess, sys, time
chan = sys.argv[1]
def mark(name, text=''):
    with open(os.path.join(chan, name + '.tmp'), 'w') as f:
        f.write(text)
    os.rename(os.path.join(chan, name + '.tmp'), os.path.join(chan, name))
probe = subprocess.run(['modprobe', 'ip_vs'], capture_output=True, text=True)
if probe.returncode != 0 or not os.path.exists('/proc/net/ip_vs'):
    mark('failed', 'modprobe ip_vs failed: ' + probe.stderr)
    sys.exit(3)
env = dict(os.environ, HOME='/tmp', LANG='C.UTF-8', LC_ALL='C.UTF-8')
mark('ready', os.uname().release)
while not os.path.exists(os.path.join(chan, 'stop')):
    jobs = sorted(n for n in os.listdir(chan) if n.endswith('.job'))
    if not jobs:
        time.sleep(0.05)
        continue
    for name in jobs:
        path = os.path.join(chan, name)
        with open(path) as f:
            job = json.load(f)
        os.unlink(path)
        p = subprocess.run(job['argv'], input=base64.b64decode(job['stdin']), capture_output=True,
                           env=dict(env, **job.get('env', {})), cwd='/tmp')
        mark(name[:-4] + '.out', json.dumps({'rc': p.returncode,
                                             'stdout': base64.b64encode(p.stdout).decode(),
                                             'stderr': base64.b64encode(p.stderr).decode()}))
'''

# The ansible_python_interpreter on the host: sends argv + stdin to the agent and relays the answer.
SHIM = r'''#!/usr/bin/python3
import base64, json, os, sys, time, uuid
chan, python, timeout = {chan!r}, {python!r}, {timeout!r}
args = sys.argv[1:]
data = sys.stdin.buffer.read()
if args and os.path.isfile(args[0]):
    # not pipelined: the module file is on the host, so it goes over stdin
    with open(args[0], 'rb') as f:
        data = f.read()
    args = ['-', *args[1:]]
job = uuid.uuid4().hex
with open(os.path.join(chan, job + '.tmp'), 'w') as f:
    json.dump({{'argv': [python, *args], 'stdin': base64.b64encode(data).decode()}}, f)
os.rename(os.path.join(chan, job + '.tmp'), os.path.join(chan, job + '.job'))
out = os.path.join(chan, job + '.out')
deadline = time.monotonic() + timeout
while not os.path.exists(out):
    if time.monotonic() > deadline:
        sys.exit('guest agent did not answer in time')
    time.sleep(0.02)
with open(out) as f:
    result = json.load(f)
os.unlink(out)
sys.stdout.buffer.write(base64.b64decode(result['stdout']))
sys.stderr.buffer.write(base64.b64decode(result['stderr']))
sys.exit(result['rc'])
'''


def recap(log: str) -> str:
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('PLAY RECAP') and i + 1 < len(lines):
            return ' '.join(lines[i + 1].split())
    return 'no PLAY RECAP'


def wait_for_guest(chan: Path, guest: subprocess.Popen) -> str | None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if (chan / 'ready').exists():
            return None
        if (chan / 'failed').exists():
            return (chan / 'failed').read_text().strip()
        if guest.poll() is not None:
            return f'the guest exited ({guest.returncode}) before its agent was ready'
        time.sleep(0.2)
    return f'the guest agent was not ready after {BOOT_TIMEOUT}s'


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--backend', action='append', choices=list(INTERPRETERS), help='default: both')
    ap.add_argument('--target', action='append', choices=TARGETS, help='default: all')
    args = ap.parse_args()
    backends = args.backend or list(INTERPRETERS)
    targets = args.target or TARGETS
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix='lvs-ha-ipvs-') as tmp:
        tmpdir = Path(tmp)
        chan = tmpdir / 'chan'
        chan.mkdir()
        (tmpdir / 'agent.py').write_text(AGENT)
        playbook = tmpdir / 'ipvs.yml'
        playbook.write_text(PLAYBOOK.format(includes=''.join(
            INCLUDE.format(target=t, path=REPO / 'tests' / 'integration' / 'targets' / t / 'tasks' / 'main.yml')
            for t in targets)))
        with open(tmpdir / 'guest.log', 'wb') as guest_log:
            guest = subprocess.Popen(
                [str(VENV / 'bin' / 'python'), '-m', 'lab', 'run', '--memory', '1G', '--rwdir', str(chan), '--',
                 '/usr/bin/python3', str(tmpdir / 'agent.py'), str(chan)],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=guest_log, stderr=subprocess.STDOUT)
            results = []
            try:
                problem = wait_for_guest(chan, guest)
                boot = time.monotonic() - started
                if problem:
                    print(f'guest: {problem}')
                else:
                    print(f"guest up in {boot:.1f}s, kernel {(chan / 'ready').read_text()}, ip_vs loaded")
                for backend in [] if problem else backends:
                    shim = tmpdir / f'python-{backend}'
                    shim.write_text(SHIM.format(chan=str(chan), python=INTERPRETERS[backend], timeout=JOB_TIMEOUT))
                    shim.chmod(0o755)
                    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / 'collections'), ANSIBLE_PIPELINING='1',
                               ANSIBLE_NOCOLOR='1', PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}")
                    argv = ['ansible-playbook', '-i', 'localhost,', '-c', 'local', '-e', f'ipvs_backend={backend}',
                            '-e', f'ansible_python_interpreter={shim}', str(playbook)]
                    print(f'===== backend={backend}: {shlex.join(argv)}', flush=True)
                    t0 = time.monotonic()
                    # streamed, so a slow run shows where it is
                    with subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True) as run:
                        lines = []
                        for line in run.stdout:
                            print(line, end='', flush=True)
                            lines.append(line)
                    results.append((backend, run.returncode, time.monotonic() - t0, recap(''.join(lines))))
            finally:
                (chan / 'stop').touch()
                try:
                    guest.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    guest.kill()
                    guest.wait()
        failed = problem is not None or guest.returncode != 0
        if failed:
            print((tmpdir / 'guest.log').read_text(errors='replace')[-3000:])

    print('===== summary =====')
    print(f'targets: {", ".join(targets)}; guest boot + ip_vs: {boot:.1f}s')
    for backend, rc, secs, line in results:
        failed |= rc != 0
        print(f'backend={backend:8} rc={rc} {secs:6.1f}s  {line}')
    for backend in backends[len(results):]:
        failed = True
        print(f'backend={backend:8} did not run')
    print(f'guest exit={guest.returncode}, wall {time.monotonic() - started:.1f}s: {"FAILED" if failed else "passed"}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())

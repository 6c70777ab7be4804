# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the IPVS integration targets on a real kernel: one lab guest boot, both backends at once.

    .venv/bin/python tests/integration/run_ipvs.py [--backend netlink|ipvsadm] [--target ipvs_info ...]
                                                   [--no-fork-server] [--serial]

The host kernel has no IPVS, so the modules must run in the lab kernel (`python -m lab run`: QEMU through
virtme-ng, the host's root tree shared read-only). Under TCG a Python process in the guest costs seconds, and
an Ansible controller there costs a minute per task when the machine is busy, so the controller stays on the
host and only the module processes go to the guest:

* one guest boots, loads ip_vs and runs a small agent (stdlib Python) that executes jobs dropped into a
  shared directory (argv + stdin in, rc + stdout + stderr out), each job in a thread of its own;
* ansible-playbook runs on the host, `-i localhost, -c local` with pipelining, over a wrapper playbook that
  includes the targets; its ansible_python_interpreter is a shim that hands the module (AnsiballZ on stdin)
  to the agent, so every module, `ansible.builtin.command: ipvsadm ...` included, runs as root in the guest
  against its kernel;
* once per backend, both runs at the same time: netlink with the project venv's Python (which has pyroute2),
  ipvsadm with /usr/bin/python3. Nearly all of a run is its modules' time in the guest, one module at a time,
  which leaves the guest's second vCPU idle; two runs use both. On a 2-core host QEMU's two vCPU threads then
  share the cores with both controllers and each module run gets slower, so the two together take longer than
  the slower one alone (docs/ipvs-modules.md has figures);
* each backend's jobs run in a network namespace of its own in the guest (lvsha-netlink, lvsha-ipvsadm: lo up
  and nothing else, as the targets need no address), entered with `ip netns exec` (the guest's Python 3.11 has
  no os.setns). The IPVS table and the net.ipv4.vs sysctls are per network namespace, so a run sees only its
  own services, in its modules and in its targets' `ipvsadm` commands alike (the same shim sends them). The
  filesystem stays shared: a target that writes files names them per backend. `--serial` runs one backend
  after the other, the same way otherwise (the comparison for the overlap);
* a run's lines are printed as they come, each prefixed with its backend; when both ran at once, a failed run's
  output is printed again whole at the end, so its failure reads in one piece;
* in the guest each module job (`<interpreter> -`, the payload on stdin) goes to a fork server: per backend, a
  long-lived process of that interpreter in the backend's namespace that has pre-imported what every module run
  imports (stdlib modules and ansible-core's module_utils; for the venv's Python also pyroute2 with its IPVS
  parts) and forks one child per job, which runs the payload as `python -` would (its own process, against the
  real kernel). The collection's code is imported only in the children; a payload whose ansible/ files differ
  from the pre-imported ones runs as a fresh process. `--no-fork-server` runs every job as a fresh process (the
  baseline); the summary says how each backend's modules ran.

Exits non-zero when the guest does not come up, ip_vs does not load, a namespace cannot be made or any playbook
fails; prints a summary.
Stdlib only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "lab" / "hostpy"))
import lvs_lab_fork  # noqa: E402 - the lab hosts' fork server, for its preload list (imports nothing else)

VENV = REPO / ".venv"
TARGETS = ["ipvs_service", "ipvs_realserver", "ipvs_info", "ipvs_table"]
# backend -> the Python that runs the modules in the guest
INTERPRETERS = {"netlink": str(VENV / "bin" / "python"), "ipvsadm": "/usr/bin/python3"}
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

# What every module run imports, pre-imported once per interpreter by the fork server (names an interpreter cannot
# import are skipped). The standard library modules: the list the lab hosts' fork server preloads for Ansible's
# module runs (lab/hostpy/lvs_lab_fork.py), which holds what `python -X importtime -` showed on these modules'
# payloads (ansible.builtin.command included) too.
STDLIB_PRELOAD = list(lvs_lab_fork.PRELOAD)
# Both interpreters add ansible-core's module_utils (basic and the AnsiballZ loader pull in all that these modules
# use; the venv's ansible-core is the controller's, so they are the files every payload ships, which the fork server
# checks per job). /usr/bin/python3 imports them through a folder that holds only the venv's ansible package (see
# preload_spec), so pyroute2 stays out of its reach and `backend: auto` still falls back to ipvsadm there. Never the
# collection's own modules or module_utils, nor ansible.modules: those are imported in the child only
# (ansible.modules from the venv's copy, checked the same).
ANSIBLE_PRELOAD = [
    "ansible.module_utils.basic",
    "ansible.module_utils._internal._ansiballz._loader",
]
# The venv's Python adds pyroute2 with its IPVS netlink parts.
PYROUTE2_PRELOAD = [
    "pyroute2",
    "pyroute2.ipvs",
    "pyroute2.netlink.generic.ipvs",
    "pyroute2.netlink.exceptions",
]


def preload_spec(backend: str, tmpdir: Path) -> dict:
    """What the backend's fork server pre-imports: `names`, with `path` put in front of sys.path meanwhile."""
    if backend == "netlink":
        return {"path": [], "names": STDLIB_PRELOAD + ANSIBLE_PRELOAD + PYROUTE2_PRELOAD}
    only = tmpdir / "ansible-only"
    only.mkdir(exist_ok=True)
    (only / "ansible").symlink_to(next((VENV / "lib").glob("python3*/site-packages/ansible")))
    return {"path": [str(only)], "names": STDLIB_PRELOAD + ANSIBLE_PRELOAD}


# Runs in the guest as root. Jobs are <id>.job files (JSON: backend, argv, stdin); results are written to <id>.out
# atomically. First a network namespace per backend, then each job in a thread of its own (the backends' runs come at
# the same time), inside its backend's namespace: `<interpreter> - ...` goes to that backend's fork server when there
# is one, anything else (and everything with --no-fork-server) is a subprocess under `ip netns exec`. Per backend it
# counts runs and seconds, written to `stats` at the end.
AGENT = r"""
import base64, json, os, socket, subprocess, sys, tempfile, threading, time, traceback
chan = sys.argv[1]
with open(sys.argv[2]) as f:
    config = json.load(f)
def mark(name, text=''):
    with open(os.path.join(chan, name + '.tmp'), 'w') as f:
        f.write(text)
    os.rename(os.path.join(chan, name + '.tmp'), os.path.join(chan, name))
probe = subprocess.run(['modprobe', 'ip_vs'], capture_output=True, text=True)
if probe.returncode != 0 or not os.path.exists('/proc/net/ip_vs'):
    mark('failed', 'modprobe ip_vs failed: ' + probe.stderr)
    sys.exit(3)
# lo is all a namespace needs: IPVS takes services and real servers on addresses that are nowhere local
for spec in config['backends'].values():
    for argv in (['ip', 'netns', 'add', spec['netns']], ['ip', '-n', spec['netns'], 'link', 'set', 'lo', 'up']):
        made = subprocess.run(argv, capture_output=True, text=True)
        if made.returncode != 0:
            mark('failed', f"{' '.join(argv)} failed: {made.stderr}")
            sys.exit(3)
env = dict(os.environ, HOME='/tmp', LANG='C.UTF-8', LC_ALL='C.UTF-8')

class ForkServer:
    def __init__(self, python, preload, backend, inside):
        self.python, self.hello, self.error = python, None, None
        self.lock = threading.Lock()  # one job at a time: the socket carries a request, then its answer
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.log = os.path.join(chan, f'fork-server-{backend}.log')
        with open(self.log, 'wb') as log:  # a file, as a job's stdout is no tty either
            # `ip netns exec` execs the interpreter, so the server is this process, in the namespace, and its
            # children (the module runs) are born there
            self.proc = subprocess.Popen([*inside, python, '-', str(theirs.fileno()), json.dumps(preload)],
                                         stdin=subprocess.PIPE, stdout=log, stderr=log, env=env, cwd='/tmp',
                                         pass_fds=[theirs.fileno()])
        theirs.close()
        self.proc.stdin.write(config['server'].encode())
        self.proc.stdin.close()

    def usable(self):
        if self.hello is None and self.error is None:
            self.sock.settimeout(600)
            try:
                msg = self.sock.recv(1 << 16)  # waits for the pre-import
            except OSError as e:
                msg = json.dumps({'error': f'no answer after start-up: {e}'}).encode()
            self.sock.settimeout(None)
            self.hello = json.loads(msg) if msg else {'error': 'exited during start-up'}
            self.error = self.hello.get('error')
        return self.error is None

    def run(self, args, data):
        # rc, stdout, stderr of `<python> - args` with data on stdin; a str when the server declines the job
        files = [tempfile.TemporaryFile() for _ in range(3)]
        files[0].write(data)
        files[0].seek(0)
        try:
            socket.send_fds(self.sock, [json.dumps(args).encode()], [f.fileno() for f in files])
            msg = self.sock.recv(1 << 16)
        except OSError as e:
            msg = str(e).encode()
        if not msg or not msg.startswith(b'{'):
            self.error = f'exited during a job {msg.decode()}'.strip()
            return self.error
        reply = json.loads(msg)
        if 'declined' in reply:
            return reply['declined']
        out = []
        for f in files[1:]:
            f.seek(0)
            out.append(f.read())
        return reply['rc'], *out

inside = {backend: ['ip', 'netns', 'exec', spec['netns']] for backend, spec in config['backends'].items()}
servers = {backend: ForkServer(spec['python'], spec['preload'], backend, inside[backend])
           for backend, spec in config['backends'].items() if spec['preload'] is not None}
stats, stats_lock = {}, threading.Lock()

def run_job(job):
    backend, argv, data = job['backend'], job['argv'], base64.b64decode(job['stdin'])
    t0 = time.monotonic()
    server = servers.get(backend)
    result, how, declined = None, 'subprocess', None
    if server and argv[:2] == [server.python, '-'] and not job.get('env'):
        with server.lock:
            if server.usable():
                result = server.run(argv[2:], data)
        if isinstance(result, str):
            result, declined = None, result
        elif result is not None:
            how = 'forked'
    if result is None:
        p = subprocess.run([*inside[backend], *argv], input=data, capture_output=True,
                           env=dict(env, **job.get('env', {})), cwd='/tmp')
        result = p.returncode, p.stdout, p.stderr
    with stats_lock:
        own = stats.setdefault(backend, {})
        if declined:
            own.setdefault('declined', []).append(declined)
        entry = own.setdefault(how, [0, 0.0])
        entry[0] += 1
        entry[1] += time.monotonic() - t0
    return result

def answer(name, job):
    try:
        rc, out, err = run_job(job)
    except Exception:  # an answer all the same, or the shim would wait out its timeout
        rc, out, err = 70, b'', f'guest agent: {traceback.format_exc()}'.encode()
    mark(name[:-4] + '.out', json.dumps({'rc': rc, 'stdout': base64.b64encode(out).decode(),
                                         'stderr': base64.b64encode(err).decode()}))

mark('ready', os.uname().release)
threads = []
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
        threads.append(threading.Thread(target=answer, args=(name, job)))
        threads[-1].start()
    threads = [t for t in threads if t.is_alive()]
for thread in threads:
    thread.join()
for backend, server in servers.items():
    server.sock.close()  # the server's end-of-input
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()
    with open(server.log, errors='replace') as f:
        log = f.read()[-2000:]
    stats.setdefault(backend, {})['server'] = dict(server.hello or {}, error=server.error, exit=server.proc.returncode,
                                                   log=log)
mark('stats', json.dumps(stats))
"""

# The fork server: one per backend, its source fed to `<interpreter> -` so that it starts exactly as a module
# process does (same interpreter, flags, environment, sys.path, `__main__`). It pre-imports the names it is given
# (with the folders it is given in front of sys.path meanwhile), then per job (the arguments after `-` as JSON, the
# script's stdin, stdout and stderr as fds) forks a child that runs the script as `python -` would, and answers with
# the exit code. The child is a process of its own; what it
# shares with the others is code imported before the fork, nothing it does itself.
FORK_SERVER = r"""
import sys
MAIN = dict(globals())  # the namespace `python -` gives a script (__name__ '__main__', __file__ '<stdin>', ...)
START_MODULES = set(sys.modules)
START_PATH = list(sys.path)
import base64, io, json, os, re, socket, time, zipfile
ctl = socket.socket(fileno=int(sys.argv[1]))
# AnsiballZ writes these two package inits itself (namespace stubs); every other file under ansible/ is a copy
STUBS = {'ansible/__init__.py', 'ansible/module_utils/__init__.py'}
ZIP_DATA = re.compile(rb"^zip_data='([A-Za-z0-9+/=]*)',$", re.M)
installed = {}  # payload file name -> the bytes the pre-imported package loads for it (None: it has none)

def preload(spec):
    started, skipped = time.monotonic(), []
    sys.path[:0] = spec['path']
    for name in spec['names']:
        try:
            __import__(name)
        except ImportError:
            skipped.append(name)
    del sys.path[:len(spec['path'])]
    return time.monotonic() - started, skipped

def problem():
    # what would make a child differ from a fresh `python -` beyond already-imported code
    own = sorted(m for m in sys.modules if m.split('.')[0] == 'ansible_collections'
                 or m.split('.')[:2] == ['ansible', 'modules'])
    if own:
        return f'module code was pre-imported: {own}'
    threads = len(os.listdir('/proc/self/task'))
    if threads != 1:
        return f'{threads} threads after pre-import'
    fds = []
    for fd in map(int, os.listdir('/proc/self/fd')):
        try:
            os.fstat(fd)
        except OSError:
            continue  # the listing's own fd
        if fd not in (0, 1, 2, ctl.fileno()):
            fds.append(fd)
    return f'fds {fds} open after pre-import' if fds else None

def shadowed(source):
    # why a pre-imported package would hide the payload's own copy of it; None when the payload ships the same files
    found = ZIP_DATA.search(source)
    if not found:
        return None  # not AnsiballZ: a fresh `python -` would import the same installed packages
    payload = zipfile.ZipFile(io.BytesIO(base64.b64decode(found.group(1))))
    for name in payload.namelist():
        top = name.split('/')[0].removesuffix('.py')
        if top in START_MODULES or top not in sys.modules or name in STUBS:
            continue
        if name not in installed:
            module = sys.modules[top]
            paths = ([os.path.join(os.path.dirname(p), name) for p in module.__path__] if hasattr(module, '__path__')
                     else [module.__file__] if name == top + '.py' else [])
            path = next((p for p in paths if os.path.isfile(p)), None)
            installed[name] = open(path, 'rb').read() if path else None
        if installed[name] != payload.read(name):
            return f'the payload has its own {name}, the fork server pre-imported another'
    return None

def child(args, fds, source):
    # runs the script as `python - args` would, and ends the process like it (never returns)
    ctl.close()
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.closerange(3, os.sysconf('SC_OPEN_MAX'))  # a fresh process has 0, 1 and 2 only
    sys.argv, sys.orig_argv = ['-', *args], [sys.orig_argv[0], '-', *args]
    sys.path[:] = START_PATH
    main = type(sys)('__main__')
    main.__dict__.update(MAIN)
    sys.modules['__main__'] = main
    try:
        exec(compile(source, '<stdin>', 'exec', dont_inherit=True), main.__dict__)
    except SystemExit:
        raise  # the interpreter turns it into the exit code, as for `python -`, after atexit and thread joins
    except BaseException as e:
        e = e.with_traceback(e.__traceback__.tb_next)  # the script's frames only
        sys.last_type, sys.last_value, sys.last_traceback = type(e), e, e.__traceback__
        sys.excepthook(type(e), e, e.__traceback__)
        raise SystemExit(1)
    raise SystemExit(0)

def serve():
    while True:
        msg, fds, _, _ = socket.recv_fds(ctl, 1 << 16, 3)
        if not msg:
            return
        with open(fds[0], 'rb', closefd=False) as f:
            source = f.read()  # as `python -` does: the whole of stdin, leaving it at its end
        why = shadowed(source)
        if why:
            for fd in fds:
                os.close(fd)
            ctl.send(json.dumps({'declined': why}).encode())
            continue
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            child(json.loads(msg), fds, source)
            os._exit(70)  # not reached
        for fd in fds:
            os.close(fd)
        ctl.send(json.dumps({'rc': os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}).encode())

seconds, skipped = preload(json.loads(sys.argv[2]))
error = problem()
ctl.send(json.dumps({'error': error} if error else {
    'seconds': round(seconds, 2), 'modules': len(sys.modules) - len(START_MODULES), 'skipped': skipped}).encode())
if not error:
    serve()
"""

# The ansible_python_interpreter on the host, one per backend: sends argv + stdin to the agent, named with the
# backend (so that the job runs in that backend's namespace), and relays the answer.
SHIM = r"""#!/usr/bin/python3
import base64, json, os, sys, time, uuid
chan, backend, python, timeout = {chan!r}, {backend!r}, {python!r}, {timeout!r}
args = sys.argv[1:]
data = sys.stdin.buffer.read()
if args and os.path.isfile(args[0]):
    # not pipelined: the module file is on the host, so it goes over stdin
    with open(args[0], 'rb') as f:
        data = f.read()
    args = ['-', *args[1:]]
elif not args:
    args = ['-']  # pipelined: the module is on stdin; said explicitly (sys.argv ['-'] rather than [''])
job = uuid.uuid4().hex
with open(os.path.join(chan, job + '.tmp'), 'w') as f:
    json.dump({{'backend': backend, 'argv': [python, *args], 'stdin': base64.b64encode(data).decode()}}, f)
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
"""


def recap(log: str) -> str:
    lines = log.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("PLAY RECAP") and i + 1 < len(lines):
            return " ".join(lines[i + 1].split())
    return "no PLAY RECAP"


def module_runs(stats: dict) -> str:
    """One line on how the guest ran a backend's modules: forked or as subprocesses, with mean seconds."""
    parts = [
        f"{how} {n} (mean {secs / n:.2f}s)"
        for how in ("forked", "subprocess")
        for n, secs in [stats.get(how, (0, 0.0))]
        if n
    ]
    server = stats.get("server")
    if server and server.get("error"):
        parts.append(f"fork server unusable: {server['error']}; its log: {server.get('log', '')[-500:]!r}")
    elif server:
        skipped = f" ({len(server['skipped'])} not importable)" if server.get("skipped") else ""
        parts.append(f"fork server pre-imported {server.get('modules')} modules{skipped} in {server.get('seconds')}s")
    if stats.get("declined"):
        parts.append(f"declined {len(stats['declined'])}: {stats['declined'][0]}")
    return "module runs: " + ("; ".join(parts) or "none")


def wait_for_guest(chan: Path, guest: subprocess.Popen) -> str | None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if (chan / "ready").exists():
            return None
        if (chan / "failed").exists():
            return (chan / "failed").read_text().strip()
        if guest.poll() is not None:
            return f"the guest exited ({guest.returncode}) before its agent was ready"
        time.sleep(0.2)
    return f"the guest agent was not ready after {BOOT_TIMEOUT}s"


def run_playbook(backend: str, argv: list[str], env: dict, show: threading.Lock) -> tuple[int, float, str]:
    """One backend's ansible-playbook: rc, seconds and output. Its lines are printed as they come (a slow run shows
    where it is), each prefixed with the backend, as the other backend's lines come between them."""
    t0 = time.monotonic()
    lines = []
    with subprocess.Popen(
        argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as run:
        for line in run.stdout:
            with show:
                print(f"{backend} | {line.rstrip()}", flush=True)
            lines.append(line)
    return run.returncode, time.monotonic() - t0, "".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", action="append", choices=list(INTERPRETERS), help="default: both")
    ap.add_argument("--target", action="append", choices=TARGETS, help="default: all")
    ap.add_argument(
        "--no-fork-server",
        action="store_true",
        help="run every module as a fresh guest process (slower; the baseline for the fork server)",
    )
    ap.add_argument(
        "--serial", action="store_true", help="run the backends one after the other (the baseline for the overlap)"
    )
    args = ap.parse_args()
    backends = args.backend or list(INTERPRETERS)
    targets = args.target or TARGETS
    at_once = len(backends) > 1 and not args.serial
    started = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="lvs-ha-ipvs-") as tmp:
        tmpdir = Path(tmp)
        chan = tmpdir / "chan"
        chan.mkdir()
        (tmpdir / "agent.py").write_text(AGENT)
        config = {
            b: {
                "python": INTERPRETERS[b],
                "netns": f"lvsha-{b}",
                "preload": None if args.no_fork_server else preload_spec(b, tmpdir),
            }
            for b in backends
        }
        (tmpdir / "agent.json").write_text(json.dumps({"backends": config, "server": FORK_SERVER}))
        playbook = tmpdir / "ipvs.yml"
        playbook.write_text(
            PLAYBOOK.format(
                includes="".join(
                    INCLUDE.format(target=t, path=REPO / "tests" / "integration" / "targets" / t / "tasks" / "main.yml")
                    for t in targets
                )
            )
        )
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(REPO / "collections"),
            ANSIBLE_PIPELINING="1",
            ANSIBLE_NOCOLOR="1",
            PATH=f"{VENV / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        )
        runs = {}  # backend -> ansible-playbook argv
        for backend in backends:
            shim = tmpdir / f"python-{backend}"
            shim.write_text(
                SHIM.format(chan=str(chan), backend=backend, python=INTERPRETERS[backend], timeout=JOB_TIMEOUT)
            )
            shim.chmod(0o755)
            runs[backend] = [
                "ansible-playbook",
                "-i",
                "localhost,",
                "-c",
                "local",
                "-e",
                f"ipvs_backend={backend}",
                "-e",
                f"ansible_python_interpreter={shim}",
                str(playbook),
            ]
        with open(tmpdir / "guest.log", "wb") as guest_log:
            guest = subprocess.Popen(
                [
                    str(VENV / "bin" / "python"),
                    "-m",
                    "lab",
                    "run",
                    "--memory",
                    "1G",
                    "--rwdir",
                    str(chan),
                    "--",
                    "/usr/bin/python3",
                    str(tmpdir / "agent.py"),
                    str(chan),
                    str(tmpdir / "agent.json"),
                ],
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=guest_log,
                stderr=subprocess.STDOUT,
            )
            results = {}  # backend -> (rc, seconds, output)
            try:
                problem = wait_for_guest(chan, guest)
                boot = time.monotonic() - started
                if problem:
                    print(f"guest: {problem}")
                else:
                    print(
                        f"guest up in {boot:.1f}s, kernel {(chan / 'ready').read_text()}, ip_vs loaded, namespaces "
                        f"{', '.join(c['netns'] for c in config.values())}; modules run "
                        f"{'as fresh processes' if args.no_fork_server else 'forked from a fork server per backend'}; "
                        f"backends {'at once' if at_once else 'one after the other'}"
                    )
                    for backend, argv in runs.items():
                        print(f"===== backend={backend}: {shlex.join(argv)}", flush=True)
                # a thread per run (one thread for them all with --serial), so that both outputs are read as they come
                show = threading.Lock()
                with concurrent.futures.ThreadPoolExecutor(max_workers=len(runs) if at_once else 1) as pool:
                    futures = {
                        b: pool.submit(run_playbook, b, argv, env, show)
                        for b, argv in ({} if problem else runs).items()
                    }
                results = {b: f.result() for b, f in futures.items()}
            finally:
                (chan / "stop").touch()
                try:
                    guest.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    guest.kill()
                    guest.wait()
        failed = problem is not None or guest.returncode != 0
        if failed:
            print((tmpdir / "guest.log").read_text(errors="replace")[-3000:])
        stats = json.loads((chan / "stats").read_text()) if (chan / "stats").exists() else {}

    for backend, (rc, _, output) in results.items():
        if rc != 0 and at_once:
            print(f"===== backend={backend} failed (rc={rc}), its output in one piece:")
            print(output, end="")
    print("===== summary =====")
    print(f"targets: {', '.join(targets)}; guest boot + ip_vs + namespaces: {boot:.1f}s")
    for backend in backends:
        if backend not in results:
            failed = True
            print(f"backend={backend:8} did not run")
            continue
        rc, secs, output = results[backend]
        failed |= rc != 0
        print(f"backend={backend:8} rc={rc} {secs:6.1f}s  {recap(output)}")
        print(f"                 {module_runs(stats.get(backend, {}))}")
    print(
        f"guest exit={guest.returncode}, wall {time.monotonic() - started:.1f}s "
        f"(backends {'at once' if at_once else 'one after the other'}): {'FAILED' if failed else 'passed'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

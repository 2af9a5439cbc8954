"""The host's side of the sandbox: the command, the limits, and reading what comes back.

A stage (``box.py execute`` or ``box.py probe``) runs

* with ``bwrap``: in bubblewrap, as an unprivileged user of its own when the grader is
  root (``setpriv``: uid ``100000 + pid`` of the grading process, so that two notebooks
  graded at once do not share a process count; no capabilities), else in bubblewrap's
  user namespace as the grading user; in new PID, network, IPC and UTS namespaces,
  seeing read-only the system's ``/usr``, Python, the autograder's ``helpers``
  (``/grader/lib``), ``box.py`` and, in stage 2 only, the assignment's probes; its only
  writable places are size-capped tmpfs (``/grading``, its work folder, and ``/tmp``);
  what it must read (the notebook, the saved variables) is in a read-only inbox
  (``/grader/in``) the grader wrote;
* with ``none``: as the grading user, in a temporary folder (no containment; the limits
  below still apply).

Limits (``setrlimit`` in the stage's first process, inherited by all its processes):
CPU time, address space, file size, open files, processes (enforced for the sandbox's
unprivileged user), no core files; niceness 5. Output to stdout/stderr goes into a pipe
of which the grader keeps the last 4 KB; results come through file descriptor 3, read
up to a cap. Nothing the stage wrote is opened by the grader: the sandbox's files live
in its own tmpfs and disappear with it.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

SANDBOXES = ("auto", "bwrap", "none")
BOX = Path(__file__).resolve().with_name("box.py")
BOX_IN, BOX_WORK, BOX_LIB, BOX_TOOL, BOX_PROBES = ("/grader/in", "/grading", "/grader/lib",
                                                    "/grader/box.py", "/grader/probes.py")


@dataclass(frozen=True)
class Limits:
    """What one notebook may use (each stage gets these; seconds are CPU seconds unless
    the name says wall)."""

    cell_cpu: float = 120.0      #: CPU time of one cell (kernel and its processes)
    cell_idle: float = 120.0     #: wall time a cell may sit without using CPU
    cell_wall: float = 1800.0    #: wall-clock backstop of one cell
    call_cpu: float = 60.0       #: CPU time of one graded call (one probe)
    call_wall: float = 300.0     #: wall-clock backstop of one graded call
    stage_cpu: float = 1800.0    #: CPU time of any one process of a stage
    memory_mb: int = 6144        #: address space of each process
    file_mb: int = 256           #: largest file a process may write
    disk_mb: int = 512           #: the sandbox's work folder (tmpfs); /tmp gets 64 MB
    processes: int = 32          #: processes and threads of the sandbox's user
    open_files: int = 512
    output_kb: int = 4           #: of stdout/stderr, the grader keeps the last KB

    def describe(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def bwrap_works() -> bool:
    """Whether bubblewrap (and, as root, setpriv) is installed and may create namespaces."""
    if not shutil.which("bwrap") or (os.geteuid() == 0 and not shutil.which("setpriv")):
        return False
    try:
        return subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid",
                               "--unshare-net", "true"],
                              capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def resolve_sandbox(kind: str) -> str:
    """``"bwrap"`` or ``"none"``: ``auto`` uses bubblewrap when it works here."""
    if kind not in SANDBOXES:
        raise ValueError(f"sandbox must be one of {SANDBOXES}, got {kind!r}")
    if kind == "auto":
        return "bwrap" if bwrap_works() else "none"
    if kind == "bwrap" and not bwrap_works():
        raise RuntimeError("bubblewrap (bwrap) is missing or cannot create namespaces here: "
                           "install Debian's `bubblewrap`, or grade with --sandbox none")
    return kind


def _python() -> str:
    python = os.path.join(os.path.realpath(sys.prefix), "bin", "python")
    return python if os.path.exists(python) else sys.executable


def _ro_bind_with_parents(path: str, made: set) -> list[str]:
    """bwrap arguments that show ``path`` read-only, its parents traversable (0755)."""
    args = []
    parts = Path(path).parts
    for k in range(2, len(parts)):
        parent = str(Path(*parts[:k]))
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    made.add(path)
    return args + ["--ro-bind", path, path]


def _system_mounts() -> list[str]:
    """Read-only system and Python; no home, no project, only a few files of /etc."""
    args, made = [], set()
    for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        p = Path(path)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), path]
        elif p.exists():
            args += ["--ro-bind", path, path]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts", "/etc/ssl/certs"):
        if os.path.exists(path):
            args += ["--ro-bind", path, path]
    python = _python()
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                              os.path.dirname(os.path.dirname(
                                                  os.path.realpath(python))))}
    for real in sorted(prefixes):
        if not real.startswith("/usr/") and real != "/usr":
            args += _ro_bind_with_parents(real, made)
    return args


def _own_tasks() -> int:
    """Processes and threads of this user now (what ``RLIMIT_NPROC`` counts)."""
    uid, count = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


def _limits_preexec(limits: Limits, nice: int = 5):
    # As root the sandbox runs as a user of its own, so the process limit is the
    # sandbox's alone; as another user it counts all of that user's processes, so the
    # sandbox gets that many more than there are now.
    processes = limits.processes if os.geteuid() == 0 else _own_tasks() + limits.processes

    def apply():
        os.setsid()
        mb = 1024 * 1024
        for which, value in ((resource.RLIMIT_AS, limits.memory_mb * mb),
                             (resource.RLIMIT_FSIZE, limits.file_mb * mb),
                             (resource.RLIMIT_NOFILE, limits.open_files),
                             (resource.RLIMIT_NPROC, processes),
                             (resource.RLIMIT_CORE, 0),
                             (resource.RLIMIT_CPU, int(limits.stage_cpu))):
            resource.setrlimit(which, (value, value))
        with contextlib.suppress(OSError):
            os.nice(nice)
    return apply


def stage_command(box_args: list[str], *, sandbox: str, lib: Path, inbox: Path, work: Path,
                  limits: Limits, probes: Path | None = None) -> list[str]:
    """The command that runs ``box.py <box_args>`` (paths in ``box_args`` are the
    sandbox's: ``/grader/in``, ``/grading``, ``/grader/probes.py``)."""
    python = _python()
    env = {"HOME": BOX_WORK, "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{BOX_WORK}/.config",
           "JUPYTER_RUNTIME_DIR": f"{BOX_WORK}/.jupyter", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "PATH": f"{os.path.dirname(python)}:/usr/bin:/bin",
           "LANG": "C.UTF-8", "USER": "student", "JOBLIB_MULTIPROCESSING": "0",
           "PYTHONPATH": BOX_LIB}
    if sandbox == "none":
        here = {BOX_IN: str(inbox), BOX_WORK: str(work), BOX_LIB: str(lib),
                BOX_PROBES: str(probes), BOX_TOOL: str(BOX)}

        def local(text: str) -> str:
            for box_path, host_path in here.items():
                text = text.replace(box_path, host_path)
            return text
        env = {k: local(v) for k, v in env.items()}
        return ["env", "-i", *[f"{k}={v}" for k, v in env.items()], python, str(BOX),
                *[local(a) for a in box_args]]
    uid = 100_000 + os.getpid()
    # root: bwrap mounts, then setpriv drops to a user of its own with no capabilities;
    # another user: bwrap's user namespace (it maps the sandbox to that user)
    as_root = os.geteuid() == 0
    cmd = ["bwrap", *([] if as_root else ["--unshare-user"]),
           "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--new-session",
           "--proc", "/proc", "--dev", "/dev",
           # the scratch folders first: a Python environment below /tmp (a clone in a
           # temporary folder, as CI has) is then mounted over them, not hidden by them
           "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/tmp",
           "--perms", "1777", "--size", str(64 << 20), "--tmpfs", "/dev/shm",
           *_system_mounts(),
           "--perms", "0755", "--dir", "/grader",
           "--ro-bind", str(lib), BOX_LIB, "--ro-bind", str(BOX), BOX_TOOL,
           "--ro-bind", str(inbox), BOX_IN,
           "--perms", "0777", "--size", str(limits.disk_mb << 20), "--tmpfs", BOX_WORK,
           "--chdir", BOX_WORK, "--clearenv"]
    if probes is not None:
        cmd += ["--ro-bind", str(probes), BOX_PROBES]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    if not as_root:
        return [*cmd, "--cap-drop", "ALL", python, BOX_TOOL, *box_args]
    return [*cmd, shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}",
            f"--regid={uid}", "--clear-groups", "--bounding-set=-all", "--inh-caps=-all",
            "--", python, BOX_TOOL, *box_args]


@dataclass
class StageRun:
    """What came back from a stage: exit code (None: stopped by the wall-clock limit),
    the tail of its output, the frames it sent on fd 3, and whether they overflowed."""

    code: int | None
    log: str
    frames: list[tuple[str, bytes]] = field(default_factory=list)
    overflow: bool = False
    malformed: bool = False


def _drain(fd: int, keep: deque, cap: int | None, sink: bytearray | None, flags: dict,
           kill) -> None:
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while True:
            try:
                chunk = pipe.read(1 << 16)
            except OSError:
                break
            if not chunk:
                break
            if sink is None:
                keep.append(chunk)
                continue
            if len(sink) + len(chunk) > cap:
                flags["overflow"] = True
                kill()
                break
            sink += chunk


def parse_frames(data: bytes, names: set[str]) -> list[tuple[str, bytes]]:
    """``name length\\n payload`` frames, strictly (a ``ValueError`` otherwise)."""
    frames, k = [], 0
    while k < len(data):
        end = data.find(b"\n", k, k + 100)
        if end < 0:
            raise ValueError("malformed frame header")
        head = data[k:end].split(b" ")
        if len(head) != 2 or not head[1].isdigit():
            raise ValueError("malformed frame header")
        name, length = head[0].decode("ascii", "replace"), int(head[1])
        if name not in names or end + 1 + length > len(data):
            raise ValueError("malformed frame")
        frames.append((name, bytes(data[end + 1:end + 1 + length])))
        k = end + 1 + length
    return frames


def open_channel() -> tuple[int, int]:
    """The pipe a stage sends its results through: ``(read end, write end)``; pass
    ``--out-fd <write end>`` to ``box.py``."""
    return os.pipe()


def run_stage(cmd: list[str], channel: tuple[int, int], *, cwd: Path, timeout: float,
              limits: Limits, out_cap: int, names: set[str]) -> StageRun:
    """Run a stage with its limits; kill its whole session after ``timeout`` wall seconds
    or when it sends more than ``out_cap`` bytes through ``channel``."""
    read_out, write_out = channel
    process = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, pass_fds=(write_out,),
                               preexec_fn=_limits_preexec(limits), close_fds=True)
    os.close(write_out)

    def kill():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    log: deque = deque(maxlen=max(1, limits.output_kb * 1024 // (1 << 16)) + 1)
    sink, flags = bytearray(), {}
    threads = [threading.Thread(target=_drain, args=(os.dup(process.stdout.fileno()), log,
                                                     None, None, flags, kill), daemon=True),
               threading.Thread(target=_drain, args=(read_out, log, out_cap, sink, flags, kill),
                                daemon=True)]
    process.stdout.close()
    for t in threads:
        t.start()
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill()
        process.wait()
        code = None
    kill()       # whatever is left of its session
    for t in threads:
        t.join(timeout=10)
    tail = b"".join(log)[-limits.output_kb * 1024:].decode("utf-8", "replace")
    run = StageRun(code, tail, overflow=bool(flags.get("overflow")))
    if not run.overflow:
        try:
            run.frames = parse_frames(bytes(sink), names)
        except ValueError:
            run.malformed = True
    return run

"""What runs inside the sandbox: the student's notebook, and the calls of its graded objects.

This file is run as a script (``python box.py execute …`` / ``python box.py probe …``) by
:mod:`tools.coursework.sandbox`, inside bubblewrap where it works; it imports nothing of
the grader and reads no check. It only *computes*; the grader outside judges.

``execute``
    Runs the notebook top to bottom in a Jupyter kernel (nbclient), without the
    ``grader.check`` cells. A watcher thread measures the CPU time of the kernel and of
    every process it started: a cell that uses more than its CPU time, or sits idle
    (no CPU) for too long, is stopped, noted and the notebook rerun without it. The
    cells' outputs are dropped (not kept in memory). A last, appended cell saves the
    notebook's variables with dill into the sandbox's own work folder; this process
    then sends the notes and the saved variables to the grader.

``probe``
    For each probe of the plan, a fresh child process (``fork`` of this process, which
    never runs student code itself): it builds the probe's inputs with the trusted
    probes module, makes the question's library shortcuts absent (the module
    attributes are replaced by functions that raise, and a profile hook sees any other
    way to their code), loads the saved variables, calls the student's graded objects
    under its own CPU-time limit with their printing captured, and converts what they
    returned to plain data (JSON: numbers, strings, lists, arrays as lists). The parent
    waits for it (with a wall-clock backstop), reads at most ``RESULT_CAP`` bytes and
    passes them on.

The channel to the grader is file descriptor 3 (a pipe), written only by the parent
processes, in frames ``b"<name> <length>\\n" + payload``. The grader treats every
byte of
it as untrusted input.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import select
import signal
import sys
import threading
import time

OUT_FD = 3
#: Bytes one probe's result may take (JSON).
RESULT_CAP = 32 * 1024 * 1024
#: Bytes the saved variables may take.
STATE_CAP = 256 * 1024 * 1024
#: Names in the notebook's namespace that are not the student's variables.
KERNEL_NAMES = ("In", "Out", "get_ipython", "exit", "quit", "open", "grader")

SAVE_STATE_CELL = '''\
def _coursework_save_state(path="state.pkl"):
    import os, pickle, shutil, sys, types
    import dill
    for entry in os.listdir("."):   # the notebook's files are not graded: room for the state
        if entry != ".jupyter":
            if os.path.isdir(entry) and not os.path.islink(entry):
                shutil.rmtree(entry, ignore_errors=True)
            else:
                os.unlink(entry)
    state = {"modules": sorted(m for m in list(sys.modules) if m.split(".")[0] == "helpers"),
             "variables": {}, "unsaved": []}
    for key, value in list(globals().items()):
        if key.startswith("_") or key in %r:
            continue
        if isinstance(value, types.ModuleType):
            state["variables"][key] = ("module", value.__name__)
            continue
        try:
            state["variables"][key] = ("value", dill.dumps(value))
        except Exception:
            state["unsaved"].append(key)
    with open(path, "wb") as f:
        pickle.dump(state, f)
_coursework_save_state()''' % (KERNEL_NAMES,)


def _channel():
    fd = os.dup(OUT_FD)
    os.close(OUT_FD)
    os.set_inheritable(fd, False)    # the kernel and the probes' children never get it
    return os.fdopen(fd, "wb", buffering=0)


def _frame(channel, name: str, payload: bytes) -> None:
    channel.write(f"{name} {len(payload)}\n".encode("ascii") + payload)


def _read_regular(path: str, cap: int) -> bytes:
    """The bytes of a regular file (no link followed), at most ``cap`` of them."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        import stat

        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if info.st_size > cap:
            raise ValueError(f"{path} is larger than {cap} bytes")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise ValueError(f"{path} is larger than {cap} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- stage 1: execute

_TICK = os.sysconf("SC_CLK_TCK")


def _session_cpu(session: int) -> float:
    """CPU seconds of the living processes of ``session`` (the kernel and its children)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3); session is field 6, utime/stime 14/15
        if int(fields[3]) == session:
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


class _Watcher(threading.Thread):
    """Stops the running cell when it used ``cpu`` seconds of CPU time (kernel and the
    processes it started) or used no CPU for ``idle`` seconds."""

    def __init__(self, cpu: float, idle: float):
        super().__init__(daemon=True)
        self.cpu, self.idle = cpu, idle
        self.session = None
        self.cell_start = None
        self.verdict = None          # "cpu" / "idle" when the watcher stopped the cell
        self.lock = threading.Lock()

    def start_cell(self, session: int) -> None:
        with self.lock:
            self.session = session
            self.cell_start = (time.monotonic(), _session_cpu(session))
            self.samples = [self.cell_start]
            self.verdict = None

    def run(self) -> None:
        while True:
            time.sleep(0.25)
            with self.lock:
                if self.session is None or self.cell_start is None:
                    continue
                now, cpu = time.monotonic(), _session_cpu(self.session)
                self.samples.append((now, cpu))
                start_t, start_cpu = self.cell_start
                # CPU of processes that ended is not seen: count the highest sum so far
                used = max(c for _, c in self.samples) - start_cpu
                window = [s for s in self.samples if s[0] >= now - self.idle]
                self.samples = window
                idle = (now - start_t >= self.idle and
                        cpu - window[0][1] < 0.02 * self.idle)
                if used > self.cpu or idle:
                    self.verdict = "cpu" if used > self.cpu else "idle"
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(self.session, signal.SIGKILL)
                    self.cell_start = None


def execute(notebook: str, work: str, cell_cpu: float, cell_idle: float,
            cell_wall: float, kill_strays: bool) -> None:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    channel = _channel()

    out_of_memory = []

    class Client(NotebookClient):
        def output(self, outs, msg, display_id, cell_index):   # outputs are not kept
            if msg["msg_type"] == "error" and msg["content"].get("ename") == "MemoryError":
                number = self.nb.cells[cell_index].metadata.get("coursework_cell")
                if number not in out_of_memory:
                    out_of_memory.append(number)
            return None

    nb = nbformat.reads(_read_regular(notebook, 64 * 1024 * 1024).decode("utf-8"),
                        as_version=4)
    import re

    check_call = re.compile(
        r"^\s*grader\.(check\(\s*['\"][\w-]+['\"]\s*\)|check_all\(\s*\))\s*$")
    number = 0
    for cell in nb.cells:
        if cell.cell_type == "code":
            number += 1
            cell.metadata["coursework_cell"] = number
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and check_call.match(c.source))]
    nb.cells.append(nbformat.v4.new_code_cell(SAVE_STATE_CELL))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    watcher = _Watcher(cell_cpu, cell_idle)
    watcher.start()
    lost = {"cpu": [], "idle": [], "wall": [], "crashed": []}
    for _ in range(4):     # a cell that is stopped or kills the kernel is dropped, then rerun
        current = {}
        client = Client(nb, timeout=cell_wall, allow_errors=True, kernel_name="python3",
                        resources={"metadata": {"path": work}})

        def on_cell_start(cell, cell_index, client=client):
            current["cell"] = cell
            watcher.start_cell(client.km.provisioner.process.pid)

        client.on_cell_start = on_cell_start
        try:
            client.execute()
        except (DeadKernelError, CellTimeoutError) as error:
            bad = current.get("cell")
            verdict = watcher.verdict or ("wall" if isinstance(error, CellTimeoutError)
                                          else "crashed")
            watcher.cell_start = None
            if kill_strays:    # every process of the sandbox but this one (own pid namespace)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(-1, signal.SIGKILL)
            if bad is None or bad is nb.cells[-1]:
                break
            lost[verdict].append(bad.metadata.get("coursework_cell"))
            nb.cells = [c for c in nb.cells if c is not bad]
            continue
        finally:
            watcher.cell_start = None
        break
    usage = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    notes = {**lost, "memory": out_of_memory,
             "cpu_seconds": sum(u.ru_utime + u.ru_stime for u in usage)}
    try:
        state = _read_regular(os.path.join(work, "state.pkl"), STATE_CAP)
    except (OSError, ValueError) as error:
        notes["state_error"] = type(error).__name__
        state = b""
    _frame(channel, "notes", json.dumps(notes).encode("utf-8"))
    _frame(channel, "state", state)
    channel.close()


# ------------------------------------------------------------------------ stage 2: probe


class Blocked(Exception):
    """A library shortcut that is absent while this question is graded."""


class CPULimit(Exception):
    """The call used up its CPU time."""


class Student:
    """The student's variables, by name (``student.ista``)."""

    def __init__(self, namespace: dict):
        self._namespace = namespace

    def __getattr__(self, name: str):
        try:
            return self._namespace[name]
        except KeyError:
            raise NameError(f"name {name!r} is not defined in the notebook") from None


def _resolve(target: str):
    """``(owner, attribute, object)`` of ``"package.module.function"`` / ``"….Class.method"``."""
    import importlib

    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            owner = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"cannot import {target!r}")


def _block(targets: list[str], attempts: list[str]):
    """Make ``targets`` absent: every module attribute and class attribute that is one of
    them becomes a function raising :class:`Blocked`; returns their code objects (and
    builtins) for the profile hook."""
    import inspect
    import types

    watched = {}
    originals = {}
    for target in targets:
        owner, attr, found = _resolve(target)
        originals[id(found)] = (target, found)
        function = inspect.unwrap(found)
        code = getattr(function, "__code__", None)
        watched[code if code is not None else found] = target

    def stub_for(target):
        def blocked(*args, **kwargs):
            attempts.append(target)
            raise Blocked(f"{target} is not available while this question is graded "
                          "(write it yourself)")
        blocked.__name__ = target.rsplit(".", 1)[-1]
        return blocked

    packages = {t.split(".")[0] for t in targets}
    for module_name, module in list(sys.modules.items()):
        if module_name.split(".")[0] not in packages or not isinstance(module, types.ModuleType):
            continue
        holders = [module] + [v for v in vars(module).values() if isinstance(v, type)]
        for holder in holders:
            try:
                items = list(vars(holder).items())
            except TypeError:
                continue
            for name, value in items:
                hit = originals.get(id(value))
                if hit is not None and hit[1] is value:
                    with contextlib.suppress(AttributeError, TypeError):
                        setattr(holder, name, stub_for(hit[0]))
    return watched


def _plain(value, budget: list[int], depth: int = 0):
    """``value`` as JSON-ready plain data; arrays and tensors as tagged flat lists."""
    import numpy as np

    if depth > 20:
        return {"__object__": "too deep"}
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("the value is too large to grade")
    kind = type(value)
    if value is None or kind in (bool, int, float):
        return value
    if kind is str:
        return value[:10_000]
    if isinstance(value, np.generic):
        return _plain(value.item(), budget, depth + 1)
    if kind in (list, tuple):
        items = [_plain(v, budget, depth + 1) for v in value[:100_000]]
        return items if kind is list else {"__tuple__": items}
    if kind is dict:
        return {"__dict__": [[_plain(k, budget, depth + 1), _plain(v, budget, depth + 1)]
                             for k, v in list(dict.items(value))[:10_000]]}
    tag = None
    if isinstance(value, np.ndarray):
        array, tag = np.asarray(value).view(np.ndarray), "__array__"
    elif "torch" in sys.modules and isinstance(value, sys.modules["torch"].Tensor):
        import torch

        array, tag = torch.Tensor.numpy(torch.Tensor.detach(value).cpu()).copy(), "__tensor__"
    if tag is not None:
        if array.dtype.kind not in "biuf":
            return {"__object__": f"array of {array.dtype}"}
        budget[0] -= array.size
        if budget[0] < 0:
            raise ValueError("the value is too large to grade")
        return {tag: {"dtype": array.dtype.str, "shape": list(array.shape),
                      "data": array.ravel().tolist()}}
    return {"__object__": f"{kind.__module__}.{kind.__qualname__}"[:200]}


class _Capped(io.TextIOBase):
    """Printing of the graded code: kept up to a size, never judged."""

    def __init__(self):
        self.size = 0

    def writable(self):
        return True

    def write(self, text):
        self.size += len(text)
        return len(text)


def _run_probe(probe, module, state_bytes: bytes, targets: list[str], cpu: float) -> dict:
    """In the child: build the inputs, block the shortcuts, load the state, call."""
    import pickle

    def on_xcpu(signum, frame):
        raise CPULimit(f"the call used more than {cpu:g} s of CPU time")

    resource.setrlimit(resource.RLIMIT_CPU, (max(1, int(cpu + 0.999)), int(cpu) + 3))
    signal.signal(signal.SIGXCPU, on_xcpu)
    inputs = probe["inputs"]()
    attempts: list[str] = []
    watched = _block(targets, attempts)

    def hook(frame, event, arg):
        if event == "call":
            target = watched.get(frame.f_code)
        elif event == "c_call":
            target = watched.get(arg) if _hashable(arg) else None
        else:
            return
        if target is not None:
            attempts.append(target)
            raise Blocked(f"{target} is not available while this question is graded")

    import builtins
    import types

    import dill

    notebook_main = types.ModuleType("__main__")
    notebook_main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = notebook_main
    dill._dill._main_module = notebook_main
    namespace = notebook_main.__dict__
    out = _Capped()
    value, error = None, None
    if watched:
        sys.setprofile(hook)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            saved = pickle.loads(state_bytes)
            import importlib

            for name in saved.get("modules", []):
                with contextlib.suppress(Exception):
                    importlib.import_module(name)
            for key, (kind, payload) in saved["variables"].items():
                try:
                    namespace[key] = (sys.modules.get(payload) or _LazyModule(payload)) \
                        if kind == "module" else dill.loads(payload)
                except Exception:
                    pass
            value = probe["call"](Student(namespace), inputs)
    except BaseException as exc:      # noqa: BLE001 — whatever the student's code raised
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, CPULimit):
            error = "CPULimit"
    finally:
        sys.setprofile(None)
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
    result = {"error": error, "blocked": sorted(set(attempts)), "printed": out.size}
    if error is None:
        try:
            result["value"] = _plain(value, [5_000_000])
        except Exception as exc:     # noqa: BLE001
            result["error"] = f"{type(exc).__name__}: {exc}"
    return result


class _LazyModule:
    """A module of the notebook's namespace, imported when first used (most are not)."""

    def __init__(self, name: str):
        self.__name__ = name

    def __getattr__(self, attr):
        import importlib

        return getattr(importlib.import_module(self.__dict__["__name__"]), attr)


def _hashable(value) -> bool:
    try:
        hash(value)
        return True
    except TypeError:
        return False


def probe(state: str, probes_path: str, plan: list[str], blocked: dict[str, list[str]],
          call_cpu: float, call_wall: float) -> None:
    import importlib
    import importlib.util

    channel = _channel()
    # Imports first, before any student code: the children share them.
    import dill  # noqa: F401
    import numpy  # noqa: F401
    import torch

    torch.set_num_threads(1)
    import pkgutil

    import helpers
    import matplotlib.pyplot  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import torch.nn.utils.prune  # noqa: F401

    for info in pkgutil.iter_modules(helpers.__path__):
        with contextlib.suppress(Exception):
            importlib.import_module(f"helpers.{info.name}")

    spec = importlib.util.spec_from_file_location("coursework_probes", probes_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    state_bytes = _read_regular(state, STATE_CAP)
    for probe_id in plan:
        probe_ = module.PROBES[probe_id]
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:     # the student's code runs only here
            try:
                os.close(read_end)
                channel.close()      # the grader's channel is not the child's
                result = _run_probe(probe_, module, state_bytes,
                                    blocked.get(probe_["question"], []), call_cpu)
                payload = json.dumps(result, allow_nan=True).encode("utf-8")
                if len(payload) > RESULT_CAP:
                    payload = json.dumps({"error": "the value is too large to grade",
                                          "blocked": result["blocked"]}).encode()
                with os.fdopen(write_end, "wb") as f:
                    f.write(payload)
            finally:
                os._exit(0)
        os.close(write_end)
        data, deadline, too_big = bytearray(), time.monotonic() + call_wall, False
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                break
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            if len(data) + len(chunk) > RESULT_CAP:
                too_big = True
                break
            data += chunk
        os.close(read_end)
        timed_out = time.monotonic() >= deadline
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        _, status, usage = os.wait4(child, 0)
        cpu = usage.ru_utime + usage.ru_stime
        if too_big:
            outcome = {"status": "too_big"}
        elif data:
            outcome = {"status": "done", "result": data.decode("utf-8", "replace")}
        elif timed_out:
            outcome = {"status": "wall"}
        elif os.WIFSIGNALED(status) and (os.WTERMSIG(status) == signal.SIGXCPU
                                         or cpu >= call_cpu - 0.5):
            outcome = {"status": "cpu"}
        else:
            outcome = {"status": "crashed"}
        outcome.update(id=probe_id, cpu_seconds=cpu)
        _frame(channel, "result", json.dumps(outcome).encode("utf-8"))
    channel.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="the sandbox side of grading")
    parser.add_argument("--out-fd", type=int, default=OUT_FD)
    sub = parser.add_subparsers(dest="command", required=True)
    exe = sub.add_parser("execute")
    exe.add_argument("notebook")
    exe.add_argument("--work", required=True)
    exe.add_argument("--cell-cpu", type=float, required=True)
    exe.add_argument("--cell-idle", type=float, required=True)
    exe.add_argument("--cell-wall", type=float, required=True)
    exe.add_argument("--kill-strays", action="store_true")
    pro = sub.add_parser("probe")
    pro.add_argument("state")
    pro.add_argument("--probes", required=True)
    pro.add_argument("--plan", required=True, help="JSON list of probe ids")
    pro.add_argument("--blocked", required=True, help="JSON {question: [targets]}")
    pro.add_argument("--call-cpu", type=float, required=True)
    pro.add_argument("--call-wall", type=float, required=True)
    args = parser.parse_args(argv)
    globals()["OUT_FD"] = args.out_fd
    if args.command == "execute":
        execute(args.notebook, args.work, args.cell_cpu, args.cell_idle, args.cell_wall,
                args.kill_strays)
    else:
        probe(args.state, args.probes, json.loads(args.plan), json.loads(args.blocked),
              args.call_cpu, args.call_wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())

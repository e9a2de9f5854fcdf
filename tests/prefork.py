"""Runs `newsbot` commands as forked processes of one that already imported torch.

Starting `newsbot` costs seconds of imports; the crash and concurrency tests start dozens
of them to kill or pause. This helper imports everything once, then forks a child per
command, which runs the real CLI entry point (`cli.main.main`) and exits. The parent never
runs the model, so the children start from a clean, fork-safe state.

Run as a script it serves JSON lines on stdin/stdout: {"run": argv, "env": {...}, "log":
path} -> {"pid": n}; {"poll": pid} -> {"status": rc or null}; {"wait": pid} -> {"status": rc}.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _returncode(status: int) -> int:
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def _child(argv: list[str], env: dict[str, str], log: str) -> None:
    """Run one newsbot command in this forked process, then exit without cleanup."""
    code = 1
    try:
        # stdin is the server's request pipe: the command must not read it.
        with open(os.devnull, "rb") as nothing:
            os.dup2(nothing.fileno(), 0)
        with open(log, "ab", buffering=0) as out:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
        os.environ.update(env)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        from cli.main import main

        main(args=argv, prog_name="newsbot")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    """The forking parent: import once, then fork a child per request."""
    import faiss  # noqa: F401
    import sentence_transformers  # noqa: F401
    import torch  # noqa: F401

    import cli.main  # noqa: F401

    print(json.dumps({"ready": os.getpid()}), flush=True)
    ended: dict[int, int] = {}  # reaped by a poll, for a later wait
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            pid = os.fork()
            if pid == 0:
                _child(request["run"], request.get("env", {}), request["log"])
            reply: dict[str, object] = {"pid": pid}
        elif "poll" in request:
            pid = request["poll"]
            if pid not in ended:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    ended[pid] = _returncode(status)
            reply = {"status": ended.get(pid)}
        else:
            pid = request["wait"]
            status = ended.pop(pid) if pid in ended else _returncode(os.waitpid(pid, 0)[1])
            reply = {"status": status}
        print(json.dumps(reply), flush=True)


class Prefork:
    """The test side: start newsbot commands, poll, pause, kill and wait for them."""

    def __init__(self, env: dict[str, str]) -> None:
        self._server = subprocess.Popen(
            [sys.executable, __file__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO,
            env=env,
            text=True,
        )
        assert "ready" in self._ask(None)

    def _ask(self, request: dict[str, object] | None) -> dict[str, object]:
        assert self._server.stdin is not None and self._server.stdout is not None
        if request is not None:
            self._server.stdin.write(json.dumps(request) + "\n")
            self._server.stdin.flush()
        line = self._server.stdout.readline()
        assert line, "the prefork server died"
        return dict(json.loads(line))

    def start(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        """Fork `newsbot argv...` with extra environment; its output goes to log."""
        return int(self._ask({"run": argv, "env": env, "log": str(log)})["pid"])  # type: ignore[call-overload]

    def poll(self, pid: int) -> int | None:
        """The exit status (negative: killed by that signal), or None while it runs."""
        status = self._ask({"poll": pid})["status"]
        return None if status is None else int(status)  # type: ignore[call-overload]

    def wait(self, pid: int) -> int:
        """Wait for the command to end; its exit status."""
        return int(self._ask({"wait": pid})["status"])  # type: ignore[call-overload]

    def run(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        """Run a command to its end; its exit status."""
        return self.wait(self.start(argv, env, log))

    def pause_when(self, pid: int, ready: Callable[[], bool]) -> bool:
        """SIGSTOP the command as soon as ready() holds; False if it ended first."""
        while self.poll(pid) is None:
            if ready():
                os.kill(pid, signal.SIGSTOP)
                # It may have exited between the poll and the stop, or moved past the moment
                # (a writer releasing its lock): then let it run on and wait for the next one.
                if self.poll(pid) is not None:
                    return False
                if ready():
                    return True
                os.kill(pid, signal.SIGCONT)
            time.sleep(0.01)
        return False

    def close(self) -> None:
        """Stop the server."""
        if self._server.stdin:
            self._server.stdin.close()
        self._server.wait(timeout=30)
        if self._server.stdout:
            self._server.stdout.close()


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    serve()

"""Running the project's own command-line tools from a stage."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections import deque
from pathlib import Path

from experiments.pipeline.runner import PipelineError


def command_line(args: list[str]) -> str:
    """``args`` as one would type them (``python -m ...``), for logs and the report."""
    return shlex.join(["python", *args])


def run_tool(
    args: list[str], log: Path, *, show_progress: bool = True, ok: tuple[int, ...] = (0,)
) -> int:
    """Run ``python <args>``: its stdout into ``log``, its stderr (progress bars) shown live.

    Returns:
        its exit status, one of ``ok``.

    Raises:
        PipelineError: the tool failed (another status); the message is its own ``error:``
            line if it printed one (the project's tools do, on one line), else its last line.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=50)
    log.write_text(f"$ {command_line(args)}\n")
    with log.open("a") as out:  # appending: the tool writes its stdout into the same file
        proc = subprocess.Popen(
            [sys.executable, *args], stdout=out, stderr=subprocess.PIPE, env=os.environ.copy()
        )
        assert proc.stderr is not None
        line = b""
        while chunk := proc.stderr.read1(4096):  # type: ignore[attr-defined]
            if show_progress:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
            out.write(chunk.decode("utf-8", "replace"))
            out.flush()
            for part in (line + chunk).replace(b"\r", b"\n").split(b"\n")[:-1]:
                if part.strip():
                    tail.append(part.decode("utf-8", "replace").strip())
            line = (line + chunk).replace(b"\r", b"\n").rsplit(b"\n", 1)[-1]
        code = proc.wait()
    if line.strip():
        tail.append(line.decode("utf-8", "replace").strip())
    if code not in ok:
        errors = [t for t in tail if t.startswith("error:")]
        reason = errors[-1].removeprefix("error:").strip() if errors else (tail[-1] if tail else "")
        raise PipelineError(
            f"`{command_line(args)}` exited with status {code}: {reason or 'no message'} "
            f"(log: {log})"
        )
    return code

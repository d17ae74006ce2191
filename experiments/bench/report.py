"""BENCHMARKS.md from the benchmarks' JSONs: the run, the machine, one headline table, a section
per benchmark and the GPU figures.

Every figure is read from a JSON in ``experiments/bench/results/`` (see
:mod:`experiments.bench.rows`); a benchmark that did not run, or whose JSON is missing or
unreadable, is shown as such.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shlex
import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import date
from importlib import metadata
from pathlib import Path
from typing import Any

from experiments.bench.registry import (
    BENCHMARKS,
    BY_NAME,
    RESULTS,
    RESULTS_DIR,
    ROOT,
    STORED_GPU,
    Benchmark,
)
from experiments.bench.rows import Row

SHOWN = ("ran", "reused", "rendered")  # statuses whose JSONs hold this report's figures


@dataclass
class Outcome:
    """What became of one benchmark.

    Attributes:
        status: ``ran``, ``reused`` (its JSON kept, ``--reuse``), ``rendered`` (``--render-only``
            without a run record), ``failed``, ``skipped``, ``missing prerequisite``,
            ``no CUDA`` or ``not run``.
        detail: the failure's last log line, the missing file, why it was skipped.
        seconds: wall time of its commands (prerequisites included).
    """

    status: str
    detail: str = ""
    seconds: float | None = None


@dataclass
class RunInfo:
    """The run a report describes (saved beside the JSONs, so ``--render-only`` can redo it)."""

    date: str
    commit: str
    command: str
    machine: dict[str, str]
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """Write it as JSON."""
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> RunInfo:
        """Read what :meth:`save` wrote."""
        d = json.loads(path.read_text())
        d["outcomes"] = {k: Outcome(**v) for k, v in d["outcomes"].items()}
        return cls(**d)


# -- the machine and the checkout ------------------------------------------------------------


def _proc(path: str, key: str) -> str | None:
    """The value of ``key: value`` in a /proc file (first match), or None."""
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    return next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith(key)), None)


def gpus() -> list[str]:
    """``name, memory`` of each NVIDIA GPU ``nvidia-smi`` lists (none without the tool)."""
    if shutil.which("nvidia-smi") is None:
        return []
    query = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]
    try:
        out = subprocess.run(query, capture_output=True, text=True, timeout=30, check=True)
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def machine() -> dict[str, str]:
    """CPU model and cores, RAM, OS, Python, torch and GPUs of this machine."""
    kib = _proc("/proc/meminfo", "MemTotal")
    try:
        os_name = platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        os_name = platform.platform()
    try:
        torch = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch = "not installed"
    cpu = _proc("/proc/cpuinfo", "model name") or platform.processor() or platform.machine()
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores visible",
        "RAM": f"{int(kib.split()[0]) / 2**20:.1f} GiB" if kib else "unknown",
        "OS": f"{os_name}, kernel {platform.release()}",
        "Python": platform.python_version(),
        "torch": torch,
        "GPU": "; ".join(gpus()) or "none",
    }


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def _committed(path: Path) -> str:
    """The date of the last commit that touched ``path`` ("" when none did)."""
    return _git("log", "-1", "--format=%cs", "--", str(path))


def commit() -> str:
    """The short commit, with ``+ uncommitted changes`` when tracked files differ from it."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return f"{head} + uncommitted changes" if dirty else head


def written(path: Path) -> str:
    """When a JSON was measured: its own ``date`` field, else the date of the commit that stored
    it unchanged, else the file's modification date."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = None
    if isinstance(doc, dict) and doc.get("date"):
        return str(doc["date"])
    # A checkout sets every file's time to the clone's: a tracked, unmodified JSON was
    # measured when it was committed.
    committed = "" if _git("status", "--porcelain", "--", str(path)) else _committed(path)
    if committed:
        return f"{committed}, committed"
    return f"{date.fromtimestamp(path.stat().st_mtime).isoformat()}, file time"


# -- figures ---------------------------------------------------------------------------------


def number(value: float) -> str:
    """Three significant digits, never in exponent form."""
    if value == 0 or not math.isfinite(value):
        return str(value)
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


def fmt(value: float | None, unit: str) -> str:
    """A value in its unit (fractions as percent or percentage points)."""
    if value is None:
        return "-"
    if unit == "%":
        return f"{100 * value:.1f}%"
    if unit == "pts":
        return f"{100 * value:+.1f} pts"
    return f"{number(value)} {unit}"


def figures(bench: Benchmark, results: Path) -> tuple[list[Row], str]:
    """Its rows and sizes from its JSONs in ``results``, or ``([], why not)``."""
    missing = [p.name for p in bench.files(results) if not p.is_file()]
    if missing:
        return [], f"no JSON: {RESULTS}/{missing[0]}"
    try:
        docs = [json.loads(p.read_text()) for p in bench.files(results)]
        return bench.rows(*docs), bench.sizes(*docs)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError, StopIteration) as e:
        return [], f"JSON unreadable ({type(e).__name__}: {e})"


def describe(outcome: Outcome, bench: Benchmark, results: Path) -> str:
    """One line on what became of the benchmark (a log's ``|`` escaped for the tables)."""
    s, d = outcome.status, outcome.detail.replace("|", "\\|")
    if s == "ran":
        return f"ran in {outcome.seconds / 60:.1f} min" if outcome.seconds is not None else "ran"
    if s in ("reused", "rendered"):
        what = "JSON reused" if s == "reused" else "rendered from its JSON"
        first = bench.files(results)[0]
        return f"{what} (measured {written(first)})" if first.is_file() else what
    if s == "failed":
        return f"**FAILED**: {d}" if d else "**FAILED**"
    text = s if s in ("skipped", "not run") else f"not run: {s}"
    return f"{text} ({d})" if d else text


TABLE_HEAD = [
    "| area | measure | ours | peer | peer value | ours / peer | better |",
    "|---|---|---:|---|---:|---:|---|",
]


def row_line(r: Row) -> str:
    """One markdown table line: ours, peer, ratio, direction; GPU figures marked."""
    ratio = "-" if r.ratio is None else number(r.ratio)
    area = f"{r.area} **[GPU]**" if r.gpu else r.area
    return (
        f"| {area} | {r.measure} | {fmt(r.ours, r.unit)} | {r.peer} | "
        f"{fmt(r.peer_value, r.unit)} | {ratio} | {r.better} |"
    )


def table(rows: list[Row]) -> list[str]:
    """A markdown table of ``rows``."""
    return [*TABLE_HEAD, *map(row_line, rows)]


# -- the document ----------------------------------------------------------------------------


def _header(run: RunInfo) -> list[str]:
    machine = "; ".join(f"{k}: {v}" for k, v in run.machine.items())
    return [
        "# Benchmarks",
        "",
        "Written by `python -m experiments.bench` (`make bench`). Every figure is read from a "
        "JSON that a benchmark wrote, beside its peer or baseline measured in the same run; "
        "ratio = ours / peer, and *better* says which way wins. Percentages are shares; "
        "*pts* are percentage points.",
        "",
        f"- Date: {run.date}",
        f"- Commit: {run.commit}",
        f"- Command: `{run.command}`",
        f"- Machine: {machine}",
        "",
    ]


def _section(bench: Benchmark, status: str, sizes: str) -> list[str]:
    commands = [f"`python -m {shlex.join(cmd)}`" for cmd in bench.argv()]
    jsons = ", ".join(f"[{RESULTS}/{o}]({RESULTS}/{o})" for o in bench.outputs)
    lines = [
        f"### {bench.name}",
        "",
        f"{bench.what[0].upper()}{bench.what[1:]}.",
        "",
        f"- Status: {status}",
        f"- Peer / baseline: {bench.peers}",
        f"- Command: {'; then '.join(commands)}" + (" (needs CUDA)" if bench.needs_cuda else ""),
        f"- Sizes: {sizes}" if sizes else "- Sizes: -",
        f"- JSON: {jsons}; log: `{RESULTS}/{bench.name}.log`",
    ]
    if bench.notes:
        lines.append(f"- Notes: {bench.notes}")
    return [*lines, ""]


def _stored_date(path: Path, doc: dict[str, Any]) -> str:
    if doc.get("date"):
        return str(doc["date"])
    committed = _committed(path)
    return f"{committed} (the commit that stored it)" if committed else "an unknown date"


def _gpu_section(status: str, gpu_rows: list[Row], results: Path) -> list[str]:
    """This run's GPU figures, or else the stored ones, marked as such."""
    if gpu_rows:
        return [
            "## GPU",
            "",
            "Measured by this run on this machine's GPU.",
            "",
            *table(gpu_rows),
            "",
        ]
    stored = results / STORED_GPU
    if not stored.is_file():
        return ["## GPU", "", f"No GPU figures: {status}; no stored {RESULTS}/{STORED_GPU}.", ""]
    doc: dict[str, Any] = json.loads(stored.read_text())
    bench, host = BY_NAME["train_throughput_gpu"], doc["host"]
    when = _stored_date(stored, doc)
    lines = [
        f"## GPU ({host['gpu']}), measured on {when}, stored, not rerun by this command",
        "",
        f"This run's GPU benchmark: {status}. These figures come from "
        f"[{RESULTS}/{STORED_GPU}]({RESULTS}/{STORED_GPU}), measured on another machine "
        f"(CPU: {host['cpu']}, {host['cpu_count']} cores; torch {host['torch']}); "
        f"{bench.sizes(doc)}.",
        "",
        *table(bench.rows(doc)),
        "",
    ]
    return lines + ([f"Note stored with them: {doc['note']}", ""] if doc.get("note") else [])


def render(run: RunInfo, results: Path = RESULTS_DIR) -> str:
    """The whole BENCHMARKS.md for ``run``, figures read now from the JSONs in ``results``."""
    headline, sections, gpu_rows, status = [], [], [], {}
    for bench in BENCHMARKS:
        outcome = run.outcomes.get(bench.name, Outcome("not run"))
        rows, sizes = figures(bench, results) if outcome.status in SHOWN else ([], "")
        if outcome.status in SHOWN and not rows:
            # its JSON missing or unreadable, or without the figures we compare
            outcome = Outcome("failed", sizes or "its JSON holds no comparable figures")
        status[bench.name] = describe(outcome, bench, results)
        if rows:
            headline += map(row_line, rows)
            gpu_rows += [r for r in rows if r.gpu]
        else:
            headline.append(f"| {bench.name} | {status[bench.name]} | | | | | |")
        sections += _section(bench, status[bench.name], sizes if rows else "")
    body = [*_header(run), "## Headline", "", *TABLE_HEAD, *headline, "", "## Benchmarks", ""]
    gpu = _gpu_section(status["train_throughput_gpu"], gpu_rows, results)
    return "\n".join([*body, *sections, *gpu]).rstrip() + "\n"

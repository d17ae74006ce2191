"""Run every benchmark, each beside its peer or baseline, and write BENCHMARKS.md.

    python -m experiments.bench                          # all of them: about 100 min on 2 cores
    python -m experiments.bench --list                   # names, what, time, prerequisites
    python -m experiments.bench --only asr kws --dry-run # the commands, nothing run
    python -m experiments.bench --skip kws --reuse       # keep the JSONs already there
    python -m experiments.bench --render-only            # BENCHMARKS.md from the JSONs present

Each benchmark (:mod:`experiments.bench.registry`) runs as its own process from the repository
root, its output in ``experiments/bench/results/<name>.log``, after the corpora and checkpoints
it needs (made first when missing, reused when present). A benchmark that fails does not stop
the others: BENCHMARKS.md shows it as failed with the last line of its log, and the command
exits 1 at the end. The run is recorded in ``experiments/bench/results/bench_run.json``;
``--render-only`` re-renders from that record (statuses) and the JSONs (figures), or, without a
record, shows every benchmark whose JSON is there.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import NoReturn

from experiments.bench.registry import (
    BENCHMARKS,
    BY_NAME,
    PREREQUISITES,
    RESULTS_DIR,
    ROOT,
    Benchmark,
)
from experiments.bench.report import Outcome, RunInfo, commit, gpus, machine, render

RECORD = RESULTS_DIR / "bench_run.json"  # the last run: --render-only redoes its report
NOT_OK = ("failed", "missing prerequisite")  # outcomes that make the command exit 1


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = _Parser(
        prog="python -m experiments.bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--only", nargs="+", metavar="NAME", default=[], help="run only these")
    p.add_argument("--skip", nargs="+", metavar="NAME", default=[], help="leave these out")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--list", action="store_true", help="list the benchmarks; run nothing")
    mode.add_argument("--dry-run", action="store_true", help="print the commands; run nothing")
    mode.add_argument("--render-only", action="store_true", help="only rewrite BENCHMARKS.md")
    p.add_argument("--reuse", action="store_true", help="keep a benchmark's JSON if it exists")
    p.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md", help="the report")
    return p.parse_args(argv)


def selection(args: argparse.Namespace) -> dict[str, str]:
    """Name -> why it is skipped ("" when selected), in registry order.

    Raises:
        ValueError: a name in ``--only``/``--skip`` that is no benchmark.
    """
    unknown = [n for n in [*args.only, *args.skip] if n not in BY_NAME]
    if unknown:
        raise ValueError(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BY_NAME)}")
    why = {}
    for b in BENCHMARKS:
        if args.only and b.name not in args.only:
            why[b.name] = "not in --only"
        elif b.name in args.skip:
            why[b.name] = "--skip"
        else:
            why[b.name] = ""
    return why


def cuda_available() -> bool:
    """Whether torch sees a CUDA device (torch is imported only where nvidia-smi lists one)."""
    if not gpus():
        return False
    import torch

    return torch.cuda.is_available()


def last_line(log: Path) -> str:
    """The last non-empty line of a log (progress bars' carriage returns split lines too)."""
    with log.open("rb") as f:
        f.seek(max(0, log.stat().st_size - 65536))
        text = f.read().decode("utf-8", "replace")
    lines = [ln.strip() for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
    return lines[-1][:300] if lines else "(empty log)"


def run_logged(argv: list[str], log: Path) -> tuple[bool, str]:
    """Run ``python -m ARGV`` from the repository root, its output appended to ``log``;
    whether it succeeded, and the log's last line."""
    with log.open("a") as f:
        f.write(f"$ python -m {shlex.join(argv)}\n")
        f.flush()
        proc = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, stdout=f, stderr=f)
    return proc.returncode == 0, last_line(log)


class Runner:
    """Runs benchmarks one by one, making each one's missing prerequisites first (once)."""

    def __init__(self, *, reuse: bool, cuda: bool, results: Path = RESULTS_DIR):
        self.reuse, self.cuda, self.results = reuse, cuda, results
        self.broken: dict[str, str] = {}  # prerequisite -> why making it failed

    def prepare(self, bench: Benchmark, log: Path) -> Outcome | None:
        """Make what ``bench`` needs and is missing; an outcome when it cannot run."""
        for key in bench.prerequisites:
            pre = PREREQUISITES[key]
            if key in self.broken:
                return Outcome("failed", self.broken[key])
            if pre.present():
                continue
            if not pre.make:
                return Outcome("missing prerequisite", f"{pre.locate()}: {pre.what}")
            print(
                f"      making {key}: python -m {shlex.join(pre.make)} (about {pre.minutes:g} min)"
            )
            ok, last = run_logged(list(pre.make), log)
            if not (ok and pre.present()):
                self.broken[key] = f"making {key} failed: {last}"
                return Outcome("failed", self.broken[key])
        return None

    def run(self, bench: Benchmark) -> Outcome:
        """Run one benchmark (its prerequisites first); what became of it."""
        if bench.needs_cuda and not self.cuda:
            return Outcome("no CUDA", "no CUDA device here; the stored GPU figures are shown")
        files = bench.files(self.results)
        if self.reuse and all(p.is_file() for p in files):
            return Outcome("reused")
        log = self.results / f"{bench.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        started = time.time()
        outcome = self.prepare(bench, log)
        for argv in bench.argv() if outcome is None else []:
            ok, last = run_logged(argv, log)
            if not ok:
                outcome = Outcome("failed", last)
                break
        stale = [p.name for p in files if not p.is_file() or p.stat().st_mtime < started]
        if outcome is None and stale:
            outcome = Outcome("failed", f"{stale[0]} was not written")
        outcome = outcome or Outcome("ran")
        outcome.seconds = round(time.time() - started, 1)
        return outcome


def _needs(bench: Benchmark) -> list[str]:
    """Commands for its missing prerequisites, then its own."""
    first = [PREREQUISITES[k] for k in bench.prerequisites]
    cmds = [p.make for p in first if p.make and not p.present()]
    return [f"python -m {shlex.join(c)}" for c in [*cmds, *bench.argv()]]


def list_benchmarks() -> None:
    """Print every benchmark: what, time, peers and whether its prerequisites are present."""
    for b in BENCHMARKS:
        print(f"{b.name:22s} about {b.minutes:g} min{' (needs CUDA)' if b.needs_cuda else ''}")
        print(f"    {b.what}\n    against: {b.peers}")
        for key in b.prerequisites:
            pre = PREREQUISITES[key]
            state = "present" if pre.present() else "MISSING"
            made = f", made by python -m {shlex.join(pre.make)} (about {pre.minutes:g} min)"
            print(f"    needs {pre.locate()} [{state}]{made if pre.make else ''}")


def dry_run(names: list[str], cuda: bool) -> None:
    """Print what a run would do."""
    for i, name in enumerate(names, 1):
        bench = BY_NAME[name]
        print(f"[{i}/{len(names)}] {name} (about {bench.minutes:g} min)")
        if bench.needs_cuda and not cuda:
            print("    not run here: no CUDA device (the stored GPU figures are shown)")
            continue
        for cmd in _needs(bench):
            print(f"    {cmd}")


def run_all(names: list[str], runner: Runner, outcomes: dict[str, Outcome]) -> None:
    """Run ``names`` in order, printing progress; outcomes filled in as they finish."""
    for i, name in enumerate(names, 1):
        bench = BY_NAME[name]
        cmds = "; ".join(f"python -m {shlex.join(c)}" for c in bench.argv())
        print(f"[{i}/{len(names)}] {name}: {cmds} (about {bench.minutes:g} min)", flush=True)
        try:
            outcome = runner.run(bench)
        except KeyboardInterrupt:
            outcomes[name] = Outcome("failed", "interrupted")
            outcomes.update({n: Outcome("not run", "interrupted") for n in names[i:]})
            raise
        outcomes[name] = outcome
        took = f" in {outcome.seconds / 60:.1f} min" if outcome.seconds else ""
        print(
            f"[{i}/{len(names)}] {name}: {outcome.status}{took}"
            + (f": {outcome.detail}" if outcome.detail else ""),
            flush=True,
        )


def _render_only(argv: list[str]) -> RunInfo:
    if RECORD.is_file():
        return RunInfo.load(RECORD)
    outcomes = {
        b.name: Outcome("rendered")
        if all(p.is_file() for p in b.files())
        else Outcome("not run", "no JSON")
        for b in BENCHMARKS
    }
    at = f"{commit()} at rendering (no run record: the JSONs may come from earlier commits)"
    return RunInfo(date.today().isoformat(), at, _command(argv), machine(), outcomes)


def _command(argv: list[str]) -> str:
    return f"python -m experiments.bench {shlex.join(argv)}".rstrip()


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    try:
        why = selection(args)
    except ValueError as e:
        print(f"python -m experiments.bench: error: {e}", file=sys.stderr)
        return 2
    names = [n for n, w in why.items() if not w]
    if args.list:
        list_benchmarks()
        return 0
    if args.dry_run:
        dry_run(names, cuda_available())
        return 0
    if args.render_only:
        run = _render_only(argv)
    else:
        run = RunInfo(date.today().isoformat(), commit(), _command(argv), machine())
        run.outcomes = {n: Outcome("skipped", w) for n, w in why.items() if w}
        total = sum(BY_NAME[n].minutes for n in names)
        print(f"{len(names)} benchmarks, about {total:g} min on 2 cores (prerequisites extra)")
        try:
            run_all(names, Runner(reuse=args.reuse, cuda=cuda_available()), run.outcomes)
        except KeyboardInterrupt:
            print("interrupted: writing what there is", file=sys.stderr)
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        run.save(RECORD)
    args.out.write_text(render(run))
    failed = [n for n, o in run.outcomes.items() if o.status in NOT_OK]
    print(f"wrote {args.out}" + (f"; not done: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Stages, their cache, and the progress display.

A stage is a function of its own settings and of the results of the stages it uses. Its
*key* hashes both (the settings as resolved, the keys of the stages it uses, and whatever
else it declares, such as a checkpoint's bytes), so a stage is fresh when
``stages/<name>.json`` holds a result under the same key: a second run with the same
settings skips it, and a changed setting reruns that stage and every stage that uses it.
``timings.json`` keeps the seconds of each stage's last execution in this run folder, which
the progress display uses as the estimate of the next one (``estimates`` in the config
before there is one).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Bumped when a stage's result changes shape, so that no stored result of another shape is
# reused (the report reads them all).
RESULT_FORMAT = 1


class PipelineError(RuntimeError):
    """Bad input or a failed step; the message says what was wrong and what to do."""


@dataclass
class Context:
    """What a stage receives.

    Attributes:
        cfg: the composed pipeline config.
        run_dir: the run folder (``outputs/pipeline/<run>``).
        results: the results of the stages this one uses (``None`` for a skipped one).
    """

    cfg: DictConfig
    run_dir: Path
    results: dict[str, dict[str, Any] | None]
    name: str = ""

    @property
    def stage_dir(self) -> Path:
        """The stage's own folder for its files (created on first use)."""
        path = self.run_dir / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def progress(self) -> bool:
        return bool(self.cfg.progress)


@dataclass
class Stage:
    """One step of the pipeline.

    Attributes:
        name: its id (``skip=[name]``, ``force=[name]``, ``stages/<name>.json``).
        title: what it measures or makes, for the progress display.
        run: the stage itself: a :class:`Context` in, a JSON-able result out; its ``files``
            (paths) must still exist for a stored result to be reused.
        settings: config keys whose values are the stage's settings.
        uses: stages whose results it reads.
        fingerprint: more of its key from outside the config (e.g. a checkpoint's hash).
    """

    name: str
    title: str
    run: Callable[[Context], dict[str, Any]]
    settings: tuple[str, ...] = ()
    uses: tuple[str, ...] = ()
    fingerprint: Callable[[DictConfig], Any] | None = None
    key: str = field(default="", init=False)


def stage_key(stage: Stage, cfg: DictConfig, keys: dict[str, str]) -> str:
    """The hash of a stage's settings, the keys of the stages it uses and its fingerprint."""
    parts = {
        "format": RESULT_FORMAT,
        "stage": stage.name,
        "settings": {s: plain(OmegaConf.select(cfg, s)) for s in stage.settings},
        "uses": {u: keys[u] for u in stage.uses},
        "fingerprint": stage.fingerprint(cfg) if stage.fingerprint else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shown(path: str | os.PathLike) -> str:
    """A path as the user would type it: relative to the working folder when inside it."""
    p = Path(path).absolute()
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def plain(value: Any) -> Any:
    """A config node as plain Python (resolved), anything else as it is."""
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def dependents(stages: list[Stage], names: set[str]) -> set[str]:
    """``names`` and every stage that uses one of them, directly or not."""
    out = set(names)
    for s in stages:  # stages are in order: a user comes after what it uses
        if out.intersection(s.uses):
            out.add(s.name)
    return out


def _fmt(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    m, s = divmod(seconds, 60)
    return f"{m}m{s:02d}s" if m < 60 else f"{m // 60}h{m % 60:02d}m"


class Runner:
    """Runs ``stages`` in order into ``run_dir``, skipping fresh ones.

    Args:
        stages: in an order where each stage comes after the ones it uses.
        cfg: the composed config (``skip``, ``force``, ``estimates`` and each stage's settings).
        run_dir: the run folder.
        log: where the progress lines go.
    """

    def __init__(self, stages: list[Stage], cfg: DictConfig, run_dir: Path, log=sys.stderr):
        self.stages, self.cfg, self.run_dir, self.log = stages, cfg, run_dir, log
        self.current = ""  # the stage running now (for error messages)
        self.skip = set(cfg.skip)
        self.force = dependents(stages, set(cfg.force))
        self.keys: dict[str, str] = {}
        for s in stages:
            self._key(s)
        self.timings_path = run_dir / "timings.json"
        self.timings = (
            json.loads(self.timings_path.read_text()) if self.timings_path.is_file() else {}
        )

    def _key(self, stage: Stage) -> str:
        """Compute (again) a stage's key from the keys of the stages before it."""
        stage.key = stage_key(stage, self.cfg, self.keys)
        # a stage that uses a skipped one has another result than with it: another key
        self.keys[stage.name] = "skipped" if stage.name in self.skip else stage.key
        return stage.key

    def path(self, name: str) -> Path:
        return self.run_dir / "stages" / f"{name}.json"

    def cached(self, stage: Stage) -> dict[str, Any] | None:
        """The stage's stored record if it is fresh (same key, its files still there)."""
        if stage.name in self.force or not self.path(stage.name).is_file():
            return None
        try:
            record = json.loads(self.path(stage.name).read_text())
        except ValueError:
            return None
        if record.get("key") != stage.key:
            return None
        if not all(Path(p).exists() for p in record["result"].get("files", [])):
            return None  # what it made is gone (a deleted corpus, report or queue)
        return record

    def estimate(self, name: str) -> float:
        if name in self.timings:
            return float(self.timings[name])
        return float(self.cfg.estimates.get(name, 60))

    def plan(self) -> dict[str, str]:
        """What each stage will do: ``skip``, ``cached`` or ``run``."""
        return {
            s.name: "skip" if s.name in self.skip else "cached" if self.cached(s) else "run"
            for s in self.stages
        }

    def say(self, text: str) -> None:
        print(text, file=self.log, flush=True)

    def run(self) -> dict[str, dict[str, Any] | None]:
        """Run or reuse every stage; returns the results by stage (``None``: skipped)."""
        (self.run_dir / "stages").mkdir(parents=True, exist_ok=True)
        plan = self.plan()
        todo = [s.name for s in self.stages if plan[s.name] == "run"]
        total = sum(self.estimate(n) for n in todo)
        self.say(
            f"pipeline {self.run_dir}: {len(todo)} of {len(self.stages)} stages to run "
            f"(about {_fmt(total)}), {sum(v == 'cached' for v in plan.values())} cached, "
            f"{sum(v == 'skip' for v in plan.values())} skipped"
        )
        results: dict[str, dict[str, Any] | None] = {}
        started = time.time()
        for i, stage in enumerate(self.stages, 1):
            tag = f"[{i}/{len(self.stages)}] {stage.name}"
            if plan[stage.name] == "skip":
                results[stage.name] = None
                self.say(f"{tag}: skipped (skip={sorted(self.skip)})")
                continue
            # The key again, now: a checkpoint replaced since the plan (by someone training
            # beside this run) is then hashed as the stage will read it.
            self._key(stage)
            record = self.cached(stage)
            if record is not None:
                results[stage.name] = record["result"]
                self.say(f"{tag}: cached ({stage.title}; ran {_fmt(record['seconds'])})")
                continue
            if stage.name not in todo:  # fresh in the plan, stale now
                todo.insert(0, stage.name)
            left = sum(self.estimate(n) for n in todo[todo.index(stage.name) :])
            self.say(
                f"{tag}: {stage.title}. About {_fmt(self.estimate(stage.name))} for this "
                f"stage, {_fmt(left)} left in all (elapsed {_fmt(time.time() - started)})"
            )
            t0 = time.time()
            self.current = stage.name
            ctx = Context(self.cfg, self.run_dir, {u: results.get(u) for u in stage.uses})
            ctx.name = stage.name
            try:
                result = stage.run(ctx)
            except PipelineError as exc:
                raise PipelineError(f"stage {stage.name}: {exc}") from exc
            seconds = time.time() - t0
            self._store(stage, result, seconds)
            results[stage.name] = result
            self.say(f"{tag}: done in {_fmt(seconds)}")
        self.say(f"pipeline done in {_fmt(time.time() - started)}")
        return results

    def _store(self, stage: Stage, result: dict[str, Any], seconds: float) -> None:
        record = {
            "stage": stage.name,
            "key": stage.key,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "result": result,
        }
        _write_json(self.path(stage.name), record)
        self.timings[stage.name] = round(seconds, 1)
        _write_json(self.timings_path, self.timings)


def _write_json(path: Path, obj: Any) -> None:
    """Atomically: a stage interrupted while writing leaves no half record behind."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)

"""`python -m speech.evaluate`: its errors name its own option, on one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("task", ["kws", "asr"])
def test_a_missing_checkpoint_names_the_checkpoint_option(tiny_corpus, tmp_path, task):
    out, _ = tiny_corpus
    missing = tmp_path / "nowhere.pt"
    cmd = [
        sys.executable,
        "-m",
        "speech.evaluate",
        f"task={task}",
        "data=tiny",
        f"out_root={out.parent}",
        f"out_dir={tmp_path}",
        f"checkpoint={missing}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert str(missing) in res.stderr and "checkpoint=" in res.stderr

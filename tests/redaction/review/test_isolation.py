"""The review service never imports training, federated or model code."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.redaction.review.helpers import ROOT

MODULES = [
    "redaction.review",
    "redaction.review.app",
    "redaction.review.__main__",
    "redaction.review.queue",
    "redaction.review.admin",
    "redaction.review.retention",
]
FORBIDDEN = ["torch", "torchaudio", "speech", "federated", "flwr", "opacus", "numpy", "soundfile"]
FORBIDDEN += ["redaction.redact", "redaction.audio", "redaction.pii", "redaction.transcribe"]


def test_review_imports_no_ml_code():
    code = (
        "import importlib, json, sys\n"
        f"for m in {MODULES!r}: importlib.import_module(m)\n"
        f"print(json.dumps([m for m in {FORBIDDEN!r} if m in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_app_builds_without_ml_code(tmp_path):
    code = (
        "import json, sys\n"
        "from redaction.review.app import create_app\n"
        "from redaction.review.config import Settings\n"
        f"create_app(Settings(data_dir={str(tmp_path)!r}), purge_loop=False)\n"
        "print(json.dumps(sorted(m for m in ('torch', 'speech', 'federated') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []

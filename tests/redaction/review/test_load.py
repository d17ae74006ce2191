"""Load on loopback: concurrent reviewers pulling and submitting against a real server
process, on SQLite and PostgreSQL. Zero double assignments, zero lost acknowledged
corrections, zero linkage-guard violations; p50/p99 latencies are printed (and appended to
``$REVIEW_LOAD_REPORT`` when set).

    pytest tests/redaction/review/test_load.py -m slow -s     # 50 reviewers for 30 s each
"""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest

from redaction.review.accounts import add_reviewer
from redaction.review.config import Settings
from redaction.review.db import connect, migrate
from redaction.review.queue import Queue
from tests.redaction.review.helpers import PASSWORD, Server, record, wav_bytes
from tests.redaction.review.loadgen import (
    double_assignments,
    guard_violations,
    inconsistencies,
    lost_corrections,
    run_reviewers,
)


def populate(db_url: str, data, *, clips: int, devices: int, reviewers: int):
    """Migrate, enqueue ``clips`` clips from ``devices`` devices (every 10th flagged), and
    create the reviewers; returns the database and their names."""
    settings = Settings(database_url=db_url, data_dir=data, sqlite_synchronous="NORMAL")
    db = connect(db_url, synchronous="NORMAL")
    migrate(db)
    q = Queue(db, settings)
    audio = wav_bytes(0.6)
    for k in range(clips):
        rec, _ = record(f"r-{k:05d}", linkage=f"r-device{k % devices:08d}", flagged=k % 10 == 0)
        q.enqueue(rec, audio)
    names = [f"load{k:03d}" for k in range(reviewers)]
    for n in names:
        add_reviewer(db, n, PASSWORD)
    return db, names


def run_load(
    backend, db_url, tmp_path, *, reviewers: int, seconds: float, clips: int, think_s: float = 0
):
    data = tmp_path / "data"
    t0 = time.monotonic()
    db, names = populate(db_url, data, clips=clips, devices=clips // 5, reviewers=reviewers)
    setup_s = time.monotonic() - t0
    server = Server(
        db_url,
        data,
        SOTTOVOCE_REVIEW_MAX_CLIPS_PER_DAY="100000",
        SOTTOVOCE_REVIEW_MAX_FLAGGED_PER_DAY="100000",
    ).start()
    try:
        stats = asyncio.run(run_reviewers(server.base, names, seconds, think_s=think_s))
    finally:
        server.stop()
    result = {
        "backend": backend,
        "reviewers": reviewers,
        "seconds": seconds,
        "clips": clips,
        "think_s": think_s,
        **stats.summary(),
        "double_assignments": double_assignments(db),
        "lost_corrections": lost_corrections(db, stats.acked),
        "guard_violations": guard_violations(db),
        "inconsistencies": len(inconsistencies(db)),
        "setup_s": round(setup_s, 1),
    }
    db.dispose()
    line = json.dumps(result)
    print(f"\nLOAD {line}")
    if os.environ.get("REVIEW_LOAD_REPORT"):
        with open(os.environ["REVIEW_LOAD_REPORT"], "a") as f:
            f.write(line + "\n")
    assert stats.errors == [], stats.errors[:5]
    assert result["submits"] > 0 and len({a[1] for a in stats.acked}) == len(stats.acked)
    assert result["double_assignments"] == 0
    assert result["lost_corrections"] == 0
    assert result["guard_violations"] == 0
    assert result["inconsistencies"] == 0
    return result


def test_load_short(backend, db_url, tmp_path):
    """10 reviewers for 5 s (the default suite's version)."""
    run_load(backend, db_url, tmp_path, reviewers=10, seconds=5, clips=400)


@pytest.mark.slow
@pytest.mark.parametrize("think_s", [0.0, 1.0, 3.0], ids=["back-to-back", "paced1s", "paced3s"])
def test_load_50_reviewers(backend, db_url, tmp_path, think_s):
    """50 reviewers for 30 s: back to back (a stress test: each reviewer's next request
    leaves as soon as the last answer arrives), and paced (about 1 s or 3 s per clip to
    listen and type; real people take 5-30 s)."""
    clips = 2500 if think_s == 0 else 1500
    run_load(backend, db_url, tmp_path, reviewers=50, seconds=30, clips=clips, think_s=think_s)

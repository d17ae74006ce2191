"""``python -m redaction.review``: every command has --help; bad input is one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from redaction.review import admin
from redaction.review.audit import Actor
from redaction.review.config import Settings
from redaction.review.db import connect
from redaction.review.queue import Queue
from tests.redaction.review.helpers import PASSWORD, ROOT, record, wav_bytes, write_pair

COMMANDS = ["serve", "add-reviewer", "enqueue", "export", "purge", "migrate"]


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "redaction.review", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line_error(p: subprocess.CompletedProcess, *needles: str) -> None:
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_help():
    p = cli("--help")
    assert p.returncode == 0 and all(c in p.stdout for c in COMMANDS)
    for c in COMMANDS:
        p = cli(c, "--help")
        assert p.returncode == 0 and "usage:" in p.stdout, c


def test_add_enqueue_export_purge(db_url, tmp_path):
    data = tmp_path / "data"
    common = ["--db", db_url, "--data-dir", str(data)]
    p = cli("add-reviewer", "alice", "--password-stdin", *common, stdin=PASSWORD + "\n")
    assert p.returncode == 0 and json.loads(p.stdout)["role"] == "reviewer"
    p = cli("add-reviewer", "boss", "--admin", "--password-stdin", *common, stdin=PASSWORD + "\n")
    assert json.loads(p.stdout)["role"] == "admin"
    one_line_error(
        cli("add-reviewer", "alice", "--password-stdin", *common, stdin=PASSWORD), "taken"
    )
    one_line_error(cli("add-reviewer", "x", "--password-stdin", *common, stdin="short"))

    good = tmp_path / "redacted"
    for k in range(3):
        rec, _ = record(f"r-{k}", linkage=f"r-device{k:08d}")
        write_pair(good, f"clip{k}", rec, wav_bytes())
    p = cli("enqueue", str(good), *common)
    assert p.returncode == 0, p.stderr
    assert [json.loads(x)["queued"] for x in p.stdout.splitlines()] == [True] * 3

    mixed = tmp_path / "mixed"
    rec, _ = record("r-ok", linkage="r-device99999999")
    write_pair(mixed, "a-ok", rec, wav_bytes())
    write_pair(mixed, "b-raw", dict(record("r-raw")[0], transcript="raw words"), wav_bytes())
    write_pair(mixed, "c-dup", record("r-0")[0], wav_bytes())
    (mixed / "d-noaudio.json").write_text(json.dumps(record("r-noaudio")[0]))
    (mixed / "e-notjson.json").write_text("{oops")
    p = cli("enqueue", str(mixed), *common)
    one_line_error(p, "4 of 5")
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [x["queued"] for x in lines] == [True, False, False, False, False]
    assert "unexpected field" in lines[1]["reason"] and "already" in lines[2]["reason"]
    assert "no audio" in lines[3]["reason"] and "not a JSON" in lines[4]["reason"]
    one_line_error(cli("enqueue", str(tmp_path / "nowhere"), *common), "no such file")

    settings = Settings(database_url=db_url, data_dir=data)
    db = connect(settings.url)
    q = Queue(db, settings)
    alice = Actor(1, "alice", "reviewer")
    for _ in range(2):
        clip = q.claim(alice).clip
        sub = q.submit(alice, clip["id"], "correct", None)
        admin.decide(db, Actor(2, "boss", "admin"), sub["submission"], accept=True)
    db.dispose()
    out = tmp_path / "export" / "manifest.jsonl"
    p = cli("export", "--out", str(out), *common)
    assert p.returncode == 0 and json.loads(p.stdout)["lines"] == 2
    assert all(
        (out.parent / json.loads(x)["audio"]).is_file() for x in out.read_text().splitlines()
    )
    one_line_error(cli("export", "--out", str(out), "--labels", "great", *common), "unknown labels")

    p = cli("purge", "--dry-run", *common)
    assert p.returncode == 0 and json.loads(p.stdout)["clips"] == 0
    p = cli("migrate", *common)
    assert json.loads(p.stdout) == {"revision": "0001"}


@pytest.mark.parametrize(
    "args, needle",
    [
        ([], "required"),
        (["enqueue"], "required"),
        (["frobnicate"], "invalid choice"),
        (["serve", "--port", "eighty"], "invalid int"),
        (["purge", "--db", "mysql://x/y"], "SQLite or PostgreSQL"),
        (["purge", "--db", "postgresql://x/y"], "psycopg"),
        (["purge", "--db", "postgresql+psycopg://nobody@127.0.0.1:1/none"], "database"),
    ],
)
def test_bad_arguments_are_one_line(args, needle, tmp_path):
    extra = ["--data-dir", str(tmp_path)] if args and args[0] == "purge" else []
    one_line_error(cli(*args, *extra), needle)


def test_bad_environment_is_one_line(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "redaction.review", "purge", "--data-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "SOTTOVOCE_REVIEW_TTL_DAYS": "seven"},
        timeout=60,
    )
    one_line_error(p, "SOTTOVOCE_REVIEW_TTL_DAYS")

"""Fixtures' building blocks: redacted clips, a throwaway PostgreSQL, a real server process."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

SR = 16000
ROOT = Path(__file__).resolve().parents[3]
PASSWORD = "a long test password"


def wav_bytes(seconds: float = 0.6, seed: int = 0) -> bytes:
    """A tiny 16-bit mono 16 kHz WAV: a buzz with a bleep in the middle."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(SR * seconds)) / SR
    x = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    mid = slice(len(t) // 3, len(t) // 2)
    x[mid] = 0.2 * np.sin(2 * np.pi * 1000 * t[mid])  # the bleep over a span
    x += 0.01 * rng.standard_normal(len(t))
    buf = io.BytesIO()
    sf.write(buf, x.astype(np.float32), SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def record(
    clip_id: str,
    *,
    linkage: str = "r-device00000000",
    flagged: bool = False,
    transcript: str = "call [PERSON] at [PHONE_NUMBER] please",
    seconds: float = 0.6,
    expires_in: timedelta = timedelta(days=3),
    receipt: str | None = None,
) -> tuple[dict[str, Any], str]:
    """A record shaped exactly like ``RedactedClip.record()``, and the device's receipt."""
    receipt = receipt or secrets.token_urlsafe(18)
    labels = [lab for lab in ("PERSON", "PHONE_NUMBER") if f"[{lab}]" in transcript]
    step = seconds / (len(labels) + 2)
    rec = {
        "id": clip_id,
        "masked_transcript": transcript,
        "spans": [
            {
                "label": lab,
                "t_start": round(step * (k + 1), 3),
                "t_end": round(step * (k + 1.8), 3),
            }
            for k, lab in enumerate(labels)
        ],
        "content_warning": flagged,
        "categories": ["HEALTH"] if flagged else [],
        "expires_at": (datetime.now(UTC) + expires_in).isoformat(timespec="seconds"),
        "duration": round(seconds, 3),
        "linkage": linkage,
        "receipt_sha256": hashlib.sha256(receipt.encode()).hexdigest(),
    }
    return rec, receipt


def write_pair(folder: Path, name: str, rec: dict[str, Any], audio: bytes) -> Path:
    """``<name>.json`` + ``<name>.wav`` as the redact CLI writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.wav").write_bytes(audio)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(rec, indent=1))
    return path


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin() -> Path | None:
    """The newest Debian PostgreSQL binaries, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PgServer:
    """A throwaway PostgreSQL on loopback (``../shared/NOTES.md``'s recipe; as root, via
    ``runuser -u postgres`` since initdb refuses root)."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
        self.root = Path(tempfile.mkdtemp(prefix="sv-pg-"))
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.root, "postgres")

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, timeout=120)

    def start(self) -> PgServer:
        data = self.root / "data"
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"),
        )
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        opts += " -c max_connections=300"
        self._run(
            str(self.bin / "pg_ctl"),
            *("-D", str(data), "-w", "-l", str(self.root / "log"), "-o", opts, "start"),
        )
        return self

    def url(self, name: str = "postgres") -> str:
        """The SQLAlchemy URL of database ``name``."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = "t_" + secrets.token_hex(6)
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"
            )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class Server:
    """``python -m redaction.review serve`` in a subprocess, on a free loopback port."""

    def __init__(self, db_url: str, data_dir: Path, **env: str):
        self.db_url, self.data_dir = db_url, data_dir
        self.port = free_port()
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        cmd = [sys.executable, "-m", "redaction.review", "serve", "--db", self.db_url]
        cmd += ["--data-dir", str(self.data_dir), "--port", str(self.port)]
        self.log = open(self.data_dir / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.log, stderr=self.log, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the server exited ({self.proc.returncode}); see {self.log.name}"
                )
            try:
                if httpx.get(self.base + "/api/me", timeout=1).status_code == 401:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """A polite stop (SIGTERM), then SIGKILL if needed."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "log", None):
            self.log.close()


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in; returns the session's CSRF token."""
    token = client.get("/api/csrf").json()["csrf"]
    r = client.post(
        "/api/login",
        json={"username": username, "password": password},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200, r.text
    return r.json()["csrf"]

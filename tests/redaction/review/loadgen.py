"""Simulated reviewers against a real server, and the invariants checked afterwards.

Each reviewer signs in, then loops: claim, acknowledge a content warning, fetch the audio,
then skip (10 %) or submit a label (a correction keeps the placeholders). Every 200 answer
to a submission is an acknowledged correction that must be in the database afterwards.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from redaction.review.audit import entries
from redaction.review.db import Database
from redaction.review.models import Assignment, Clip, Submission
from tests.redaction.review.helpers import PASSWORD


@dataclass
class Stats:
    """What the reviewers saw."""

    claim: list[float] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    audio: list[float] = field(default_factory=list)
    acked: list[tuple[str, str, str, str]] = field(default_factory=list)  # who, clip, label, text
    in_flight: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    sessions: dict[str, tuple[dict[str, str], str]] = field(default_factory=dict)
    skipped: int = 0
    empty: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def pct(xs: list[float], q: float) -> float | None:
            if not xs:
                return None
            return round(1000 * statistics.quantiles(xs, n=100, method="inclusive")[q - 1], 1)

        return {
            "claims": len(self.claim),
            "submits": len(self.acked),
            "skips": self.skipped,
            "empty_claims": self.empty,
            "claim_p50_ms": pct(self.claim, 50),
            "claim_p99_ms": pct(self.claim, 99),
            "submit_p50_ms": pct(self.submit, 50),
            "submit_p99_ms": pct(self.submit, 99),
            "audio_p50_ms": pct(self.audio, 50),
            "audio_p99_ms": pct(self.audio, 99),
            "errors": len(self.errors),
        }


async def sign_in(base: str, username: str) -> httpx.AsyncClient:
    """A signed-in client with its CSRF header set."""
    c = httpx.AsyncClient(base_url=base, timeout=60)
    token = (await c.get("/api/csrf")).json()["csrf"]
    r = await c.post(
        "/api/login",
        json={"username": username, "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    r.raise_for_status()
    c.headers["X-CSRF-Token"] = r.json()["csrf"]
    return c


def choose(rng: random.Random, masked: str) -> tuple[str, str | None, str]:
    """A label, the text sent, and the text the service must store."""
    x = rng.random()
    if x < 0.5:
        return "correct", None, masked
    if x < 0.85:
        text = masked.replace("please", "right now please")
        return "corrected", text, " ".join(text.split())
    return "unintelligible", None, ""


async def reviewer(
    c: httpx.AsyncClient,
    name: str,
    deadline: float,
    stats: Stats,
    seed: int,
    *,
    fetch_audio: bool = True,
    think_s: float = 0.0,
) -> None:
    """One reviewer's loop until ``deadline`` (or until the server goes away); ``think_s``
    is the time spent listening and typing per clip (0: back to back)."""
    rng = random.Random(seed)
    if think_s:  # people do not all start at the same millisecond
        await asyncio.sleep(rng.uniform(0, think_s))
    while time.monotonic() < deadline:
        try:
            t = time.perf_counter()
            r = await c.post("/api/claim")
            stats.claim.append(time.perf_counter() - t)
            if r.status_code != 200:
                stats.errors.append(f"claim {r.status_code} {r.text[:100]}")
                continue
            clip = r.json()["clip"]
            if clip is None:
                stats.empty += 1
                await asyncio.sleep(0.05)
                continue
            cid = clip["id"]
            if clip["content_warning"] and not clip["warning_acknowledged"]:
                r = await c.post(f"/api/clips/{cid}/acknowledge")
                if r.status_code != 200:
                    stats.errors.append(f"ack {r.status_code}")
            if fetch_audio:
                t = time.perf_counter()
                r = await c.get(clip["audio_url"])
                stats.audio.append(time.perf_counter() - t)
                if r.status_code != 200 or r.content[:4] != b"RIFF":
                    stats.errors.append(f"audio {r.status_code}")
            if think_s:
                await asyncio.sleep(think_s * rng.uniform(0.5, 1.5))
            if rng.random() < 0.1:
                r = await c.post(f"/api/clips/{cid}/skip")
                stats.skipped += r.status_code == 200
                continue
            label, text, stored = choose(rng, clip["masked_transcript"])
            stats.in_flight.append((name, cid, label, text))
            t = time.perf_counter()
            r = await c.post(f"/api/clips/{cid}/submit", json={"label": label, "text": text})
            stats.submit.append(time.perf_counter() - t)
            stats.in_flight.pop()
            if r.status_code == 200:
                stats.acked.append((name, cid, label, stored))
            else:
                stats.errors.append(f"submit {r.status_code} {r.text[:100]}")
        except httpx.TransportError:
            return  # the server went away (the crash test)


async def run_reviewers(
    base: str,
    names: list[str],
    seconds: float,
    *,
    kill_after: float | None = None,
    kill=None,
    think_s: float = 0.0,
) -> Stats:
    """Sign everyone in, then run their loops for ``seconds`` (optionally killing the server
    after ``kill_after`` seconds)."""
    stats = Stats()
    clients = await asyncio.gather(*(sign_in(base, n) for n in names))
    deadline = time.monotonic() + seconds
    tasks = [
        asyncio.create_task(reviewer(c, n, deadline, stats, k, think_s=think_s))
        for k, (c, n) in enumerate(zip(clients, names, strict=True))
    ]
    if kill_after is not None:
        await asyncio.sleep(kill_after)
        kill()
    await asyncio.gather(*tasks)
    for n, c in zip(names, clients, strict=True):
        stats.sessions[n] = (dict(c.cookies), c.headers["X-CSRF-Token"])
        await c.aclose()
    return stats


def double_assignments(db: Database) -> int:
    """Claims of a clip while another reviewer held it, replayed from the audit log."""
    holder: dict[str, int | None] = {}
    doubles = 0
    for e in entries(db):
        cid = e["clip_id"]
        if e["status"] != 200 or cid is None:
            continue
        if e["action"] in ("claim", "redo"):
            if holder.get(cid) not in (None, e["actor_id"]):
                doubles += 1
            holder[cid] = e["actor_id"]
        elif e["action"] in ("submit", "skip", "lease_expired", "purge"):
            holder[cid] = None
    return doubles


def guard_violations(db: Database) -> int:
    """Reviewers given two clips with one linkage token (the window spans the whole test)."""
    with db.reading() as s:
        rows = s.execute(
            select(Assignment.reviewer_id, Assignment.linkage).where(Assignment.redo.is_(False))
        ).all()
    return sum(n - 1 for n in Counter(rows).values() if n > 1)


def lost_corrections(db: Database, acked: list[tuple[str, str, str, str]]) -> int:
    """Acknowledged submissions missing from the database (or stored differently)."""
    from redaction.review.models import Reviewer

    with db.reading() as s:
        stored = {
            (who, cid, label, text)
            for who, cid, label, text in s.execute(
                select(
                    Reviewer.username, Submission.clip_id, Submission.label, Submission.text
                ).join(Reviewer, Reviewer.id == Submission.reviewer_id)
            )
        }
    return sum(a not in stored for a in acked)


def inconsistencies(db: Database) -> list[str]:
    """States that contradict one another (each must be empty)."""
    out = []
    with db.reading() as s:
        clips = {c.id: c.status for c in s.scalars(select(Clip))}
        active = defaultdict(list)
        for a in s.scalars(select(Assignment)):
            if a.state == "active":
                active[a.clip_id].append(a.id)
        subs = defaultdict(list)
        for sub in s.scalars(select(Submission)):
            subs[sub.clip_id].append(sub)
            state = s.get(Assignment, sub.assignment_id).state
            if state != "submitted":
                out.append(f"submission {sub.id}'s assignment is {state}")
    for cid, status in clips.items():
        if status == "assigned" and len(active[cid]) != 1:
            out.append(f"{cid} assigned with {len(active[cid])} active assignments")
        if status != "assigned" and active[cid]:
            out.append(f"{cid} is {status} but has an active assignment")
        if status in ("submitted", "accepted") and len(subs[cid]) != 1:
            out.append(f"{cid} is {status} with {len(subs[cid])} submissions")
        if status == "queued" and subs[cid]:
            out.append(f"{cid} is queued but has a submission")
    return out

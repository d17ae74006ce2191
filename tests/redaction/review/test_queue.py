"""The queue's core on SQLite and PostgreSQL: claims, the linkage guard, exposure caps,
skips, leases, redo after feedback, retention, transparency, the ledger and the audit log."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from redaction.review import admin, audit, retention
from redaction.review.audit import utcnow
from redaction.review.errors import Conflict, Gone, Invalid, NotFound
from redaction.review.ledger import ledger
from redaction.review.models import Assignment, Clip
from redaction.review.privacy import perturb


def backdate(svc, **delta) -> None:
    """Move every assignment's claim time into the past."""
    with svc.db.writing() as s:
        for a in s.scalars(select(Assignment)):
            a.claimed_at -= timedelta(**delta)


def actions(svc, clip_id=None) -> list[tuple[str, str, str | None]]:
    return [(e["actor"], e["action"], e["clip_id"]) for e in audit.entries(svc.db, clip_id=clip_id)]


def test_claim_view_audio_submit(service):
    service.enqueue("r-1")
    alice = service.person("alice")
    got = service.queue.claim(alice).clip
    assert got["id"] == "r-1" and got["masked_transcript"].startswith("call [PERSON]")
    assert "linkage" not in got and "receipt_sha256" not in got
    assert service.queue.claim(alice).clip["id"] == "r-1"  # held: the same clip again
    assert service.queue.audio(alice, "r-1").read_bytes()[:4] == b"RIFF"
    out = service.queue.submit(alice, "r-1", "corrected", "call [PERSON] on [PHONE_NUMBER] please")
    assert out["duplicate"] is False
    again = service.queue.submit(
        alice, "r-1", "corrected", "call [PERSON] on [PHONE_NUMBER] please"
    )
    assert again["duplicate"] is True and again["submission"] == out["submission"]
    with pytest.raises(NotFound):
        service.queue.submit(alice, "r-1", "correct", None)  # not a repeat: no longer held
    got = actions(service, "r-1")
    assert ("alice", "claim", "r-1") in got and ("alice", "submit", "r-1") in got
    assert ("alice", "audio", "r-1") in got


def test_threads_never_get_the_same_clip(make_service):
    svc = make_service()
    for k in range(12):
        svc.enqueue(f"r-{k}", linkage=f"r-device{k:08d}")
    people = [svc.person(f"p{k}") for k in range(16)]
    got: list[str | None] = [None] * len(people)
    barrier = threading.Barrier(len(people))

    def work(k):
        barrier.wait()
        clip = svc.queue.claim(people[k]).clip
        got[k] = clip["id"] if clip else None

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(people))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [g for g in got if g]
    assert len(ids) == 12 and len(set(ids)) == 12
    with svc.db.reading() as s:
        assert s.scalar(select(text("count(*)")).select_from(Assignment)) == 12


def test_linkage_guard(make_service):
    svc = make_service(linkage_window_hours=1.0)
    for k in range(3):
        svc.enqueue(f"same-{k}", linkage="r-householdAAAA")
    svc.enqueue("other", linkage="r-householdBBBB")
    alice, bob = svc.person("alice"), svc.person("bob")
    first = svc.queue.claim(alice).clip["id"]
    assert first == "same-0"
    svc.queue.submit(alice, first, "correct", None)
    assert svc.queue.claim(alice).clip["id"] == "other"
    svc.queue.submit(alice, "other", "correct", None)
    nothing = svc.queue.claim(alice)
    assert nothing.clip is None and "No clip" in nothing.reason  # two same-device clips wait
    assert svc.queue.claim(bob).clip["id"] == "same-1"  # somebody else may have one
    backdate(svc, hours=2)  # the window has passed for alice
    assert svc.queue.claim(alice).clip["id"] == "same-2"


def test_skip_is_free_and_the_guard_still_holds(service):
    service.enqueue("r-1")
    alice, bob = service.person("alice"), service.person("bob")
    service.queue.claim(alice)
    backdate(service, seconds=30)
    service.queue.skip(alice, "r-1")
    assert service.queue.claim(alice).clip is None  # the guard: not the same device again
    assert service.queue.claim(bob).clip["id"] == "r-1"
    row = ledger(service.db, service.settings, alice.id)["reviewers"][0]["total"]
    assert row["seconds"] == pytest.approx(30, abs=2) and row["clips"] == 0
    assert row["top_up_cents"] > 0  # time on a skipped clip is paid work


def test_exposure_caps(make_service):
    svc = make_service(max_clips_per_day=3, max_flagged_per_day=1)
    svc.enqueue("f-0", linkage="r-device0000f000", flagged=True)
    svc.enqueue("f-1", linkage="r-device0000f001", flagged=True)
    for k in range(3):
        svc.enqueue(f"n-{k}", linkage=f"r-device0000n{k:03d}")
    alice = svc.person("alice")
    served = []
    for _ in range(4):
        got = svc.queue.claim(alice)
        if got.clip is None:
            break
        served.append(got.clip)
        svc.queue.skip(alice, got.clip["id"])
    assert [c["content_warning"] for c in served] == [True, False, False]
    assert "limit" in got.reason
    assert svc.queue.exposure(alice)["clips_today"] == 3


def test_content_warning_comes_before_the_audio(service):
    service.enqueue("f-1", flagged=True)
    alice = service.person("alice")
    clip = service.queue.claim(alice).clip
    assert clip["content_warning"] and clip["categories"] == ["HEALTH"]
    with pytest.raises(Conflict, match="content warning"):
        service.queue.audio(alice, "f-1")
    service.queue.acknowledge(alice, "f-1")
    assert service.queue.audio(alice, "f-1").is_file()


def test_a_lapsed_lease_returns_the_clip(make_service):
    svc = make_service(lease_minutes=5)
    svc.enqueue("r-1")
    alice, bob = svc.person("alice"), svc.person("bob")
    svc.queue.claim(alice)
    backdate(svc, minutes=6)
    svc.queue._last_sweep = utcnow() - timedelta(hours=1)  # sweeps run at most every 15 s
    assert svc.queue.claim(bob).clip["id"] == "r-1"
    with pytest.raises(NotFound):
        svc.queue.submit(alice, "r-1", "correct", None)
    assert svc.queue.submit(bob, "r-1", "correct", None)["duplicate"] is False


def test_feedback_and_redo(service, tmp_path):
    service.enqueue("r-1")
    alice, boss = service.person("alice"), service.person("boss", role="admin")
    service.queue.claim(alice)
    first = service.queue.submit(
        alice, "r-1", "corrected", "cool [PERSON] at [PHONE_NUMBER] please"
    )
    with pytest.raises(Invalid, match="why"):
        admin.decide(service.db, boss, first["submission"], accept=False)
    admin.decide(service.db, boss, first["submission"], accept=False, feedback="it says 'call'")
    with pytest.raises(Conflict):
        admin.decide(service.db, boss, first["submission"], accept=True)
    [todo] = admin.rejected_for(service.db, alice)
    assert todo["feedback"] == "it says 'call'" and todo["clip_id"] == "r-1"
    assert service.queue.claim(service.person("bob")).clip is None  # reserved for alice
    again = service.queue.redo(alice, "r-1")
    assert again["redo"] and again["feedback"] == "it says 'call'"
    second = service.queue.submit(alice, "r-1", "correct", None)
    admin.decide(service.db, boss, second["submission"], accept=True)
    assert admin.rejected_for(service.db, alice) == []
    with pytest.raises(NotFound):
        service.queue.redo(alice, "r-1")
    total = ledger(service.db, service.settings, alice.id)["reviewers"][0]["total"]
    assert total["clips"] == 1  # a redo is paid time, not a second clip
    assert service.queue.exposure(alice)["clips_today"] == 1
    out = tmp_path / "export" / "manifest.jsonl"
    assert admin.export(service.db, service.settings, out) == 1


def test_export_is_a_training_manifest(service, tmp_path):
    from speech.data.manifest import audio_path, read_manifest

    boss = service.person("boss", role="admin")
    people = [service.person(f"p{k}") for k in range(3)]
    labels = ["corrected", "correct", "not_speech"]
    for k, (who, label) in enumerate(zip(people, labels, strict=True)):
        service.enqueue(f"r-{k}", linkage=f"r-device{k:08d}")
        service.queue.claim(who)
        txt = "call [PERSON] at [PHONE_NUMBER] now" if label == "corrected" else None
        sub = service.queue.submit(who, f"r-{k}", label, txt)
        admin.decide(service.db, boss, sub["submission"], accept=True)
    out = tmp_path / "corrections" / "manifest.jsonl"
    assert admin.export(service.db, service.settings, out) == 2
    utts = read_manifest(out)
    assert {u.text for u in utts} == {
        "call [PERSON] at [PHONE_NUMBER] now",
        "call [PERSON] at [PHONE_NUMBER] please",
    }
    for u in utts:
        assert audio_path(out, u).read_bytes()[:4] == b"RIFF" and u.device == ""
    assert admin.export(service.db, service.settings, out, labels=("not_speech",)) == 1
    with pytest.raises(ValueError, match="unknown labels"):
        admin.export(service.db, service.settings, out, labels=("bogus",))


def test_retention_purge(make_service):
    svc = make_service(ttl_days=7)
    receipt = svc.enqueue("r-1", expires_in=timedelta(days=30))
    svc.enqueue("r-2", expires_in=timedelta(days=1))
    alice = svc.person("alice")
    with svc.db.reading() as s:
        deadline = s.get(Clip, "r-1").expires_at
        audio = svc.settings.audio_dir / s.get(Clip, "r-1").audio_name
    assert deadline <= utcnow() + timedelta(days=7, minutes=1)  # the TTL caps the record's
    svc.queue.claim(alice)
    svc.queue.submit(alice, "r-1", "correct", None)
    counts = retention.purge(svc.db, svc.settings, now=utcnow() + timedelta(days=2))
    assert counts["clips"] == 1 and audio.is_file()  # r-2 only
    counts = retention.purge(svc.db, svc.settings, now=utcnow() + timedelta(days=8))
    assert counts["clips"] == 1 and counts["audio_files"] == 1 and not audio.exists()
    assert list(svc.settings.audio_dir.glob("*.wav")) == []
    with svc.db.reading() as s:
        assert s.scalar(select(text("count(*)")).select_from(Clip)) == 0
    assert [a for a in actions(svc) if a[1] == "purge"] == [
        ("system", "purge", "r-2"),
        ("system", "purge", "r-1"),
    ]
    [answer] = retention.transparency(svc.db, [receipt])
    assert answer["reviewed"] and answer["deleted"]
    with pytest.raises(NotFound):
        svc.queue.view(alice, "r-1")


def test_an_expired_clip_is_gone(service):
    service.enqueue("r-1")
    alice = service.person("alice")
    service.queue.claim(alice)
    with service.db.writing() as s:
        s.get(Clip, "r-1").expires_at = utcnow() - timedelta(seconds=1)
    with pytest.raises(Gone):
        service.queue.audio(alice, "r-1")
    assert service.queue.claim(alice).clip is None


def test_orphan_audio_is_swept(service):
    service.settings.audio_dir.mkdir(parents=True, exist_ok=True)
    orphan = service.settings.audio_dir / "deadbeef.wav"
    orphan.write_bytes(b"RIFF")
    import os

    os.utime(orphan, (1, 1))
    assert retention.purge(service.db, service.settings)["orphan_audio"] == 1
    assert not orphan.exists()


def test_audit_log_is_append_only(service, backend):
    service.enqueue("r-1")
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), service.db.writing() as s:
            s.execute(text(statement))
    if backend == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), service.db.writing() as s:
            s.execute(text("TRUNCATE audit_log"))
    assert actions(service)[0] == ("pipeline", "enqueue", "r-1")


def test_enqueue_refusals_are_audited(service):
    from tests.redaction.review.helpers import record, wav_bytes

    rec, _ = record("r-1")
    bad = dict(rec, transcript="the raw words")
    with pytest.raises(Invalid, match="unexpected field"):
        service.queue.enqueue(bad, wav_bytes())
    with pytest.raises(Invalid, match="record says"):
        service.queue.enqueue(rec, wav_bytes(1.0))
    service.queue.enqueue(rec, wav_bytes())
    with pytest.raises(Conflict):
        service.queue.enqueue(rec, wav_bytes())
    got = [(e["action"], e["status"]) for e in audit.entries(service.db, clip_id="r-1")]
    assert got == [
        ("enqueue_refused", 422),
        ("enqueue_refused", 422),
        ("enqueue", 200),
        ("enqueue_refused", 409),
    ]
    assert len(list(service.settings.audio_dir.glob("*.wav"))) == 1


def test_transparency_says_when_never_who(service):
    receipt = service.enqueue("r-1")
    alice = service.person("alice")
    [before] = retention.transparency(service.db, [receipt])
    assert before["known"] and not before["reviewed"] and not before["listened"]
    service.queue.claim(alice)
    service.queue.audio(alice, "r-1")
    service.queue.submit(alice, "r-1", "correct", None)
    after, unknown = retention.transparency(service.db, [receipt, "not-a-receipt"])
    assert after["reviewed"] and after["listened"] and unknown == {"known": False}
    assert after["reviewed_at"].endswith(":00Z")  # rounded to the hour
    assert "alice" not in repr(after) and "r-1" not in repr(after)
    for bad in (None, [], ["x"] * 101, [7], "receipt"):
        with pytest.raises(Invalid):
            retention.transparency(service.db, bad)


def test_assignment_follows_the_perturbed_profile(make_service):
    svc = make_service()
    svc.enqueue("en-1", linkage="r-deviceEN000001")
    svc.queue.enqueue(*_clip("es-1", "r-deviceES000001"), language="es", accent="")
    svc.queue.enqueue(*_clip("es-2", "r-deviceES000002"), language="es", accent="us")
    alice = svc.person("alice")
    svc.app.state.accounts.set_profile(alice, ["es"], ["us"], 1.0)
    assert svc.queue.claim(alice).clip["id"] == "es-2"  # her language, her accent first
    svc.queue.skip(alice, "es-2")
    assert svc.queue.claim(alice).clip["id"] == "es-1"
    svc.queue.skip(alice, "es-1")
    assert svc.queue.claim(alice).clip is None  # no English in her (perturbed) profile
    with pytest.raises(Invalid):
        svc.app.state.accounts.set_profile(alice, ["klingon"], [], 1.0)
    with pytest.raises(Invalid, match="epsilon"):
        svc.app.state.accounts.set_profile(alice, ["en"], [], 50.0)


def _clip(clip_id, linkage):
    from tests.redaction.review.helpers import record, wav_bytes

    rec, _ = record(clip_id, linkage=linkage)
    return rec, wav_bytes(rec["duration"])


def test_skill_estimates_from_perturbed_profiles(service):
    import random

    few = service.person("few")
    service.app.state.accounts.set_profile(few, ["en"], [], 2.0)
    assert admin.skills(service.db, service.settings)["languages"] == {}  # too few to show
    rng = random.Random(0)
    people = [service.person(f"p{k:03d}") for k in range(59)] + [few]
    for k, who in enumerate(people):
        truth = ["en", "es"] if k < 30 else ["en"]
        langs = perturb(truth, service.settings.languages, 2.0, rng.random)
        service.app.state.accounts.set_profile(who, langs, [], 2.0)
    est = admin.skills(service.db, service.settings)
    assert est["profiles"] == 60
    assert abs(est["languages"]["en"] - 60) < 15 and abs(est["languages"]["es"] - 30) < 15


def test_fair_work_ledger(make_service):
    svc = make_service(pay_per_clip_cents=10, pay_floor_cents_per_hour=1200)
    svc.enqueue("r-1")
    alice = svc.person("alice")
    svc.queue.claim(alice)
    backdate(svc, seconds=60)
    svc.queue.submit(alice, "r-1", "correct", None)
    t = ledger(svc.db, svc.settings, alice.id)["reviewers"][0]["total"]
    assert t["clips"] == 1 and t["earned_cents"] == 10
    assert t["seconds"] == pytest.approx(60, abs=2)
    assert t["effective_cents_per_hour"] == pytest.approx(600, rel=0.05)
    assert t["top_up_cents"] == pytest.approx(10, abs=1)  # 1200/h * 1 min = 20 cents owed
    everyone = ledger(svc.db, svc.settings)
    assert [r["username"] for r in everyone["reviewers"]] == ["alice"]

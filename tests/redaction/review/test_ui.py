"""The reviewer's page end to end in a real headless Chromium (Debian ``chromium``, driven by
Playwright) against a real server process: sign-in, the purpose, the profile randomized in
the browser, the waveform with the bleeped regions, editing with the masks kept, the labels
and keyboard shortcuts, the content warning before a flagged clip can play, skip, an
admin's feedback and the redo, the ledger; screenshots are saved and checked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select

from redaction.review.accounts import add_reviewer
from redaction.review.config import Settings
from redaction.review.db import connect, migrate
from redaction.review.models import Reviewer, Submission
from redaction.review.privacy import perturb
from redaction.review.queue import Queue
from tests.redaction.review.helpers import PASSWORD, Server, record, wav_bytes

CHROMIUM = "/usr/bin/chromium"
XSS = "<img src=x onerror=window.__xss=1>"

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} missing (apt-get install -y chromium)"
)


@pytest.fixture
def site(tmp_path):
    data = tmp_path / "data"
    url = f"sqlite:///{tmp_path / 'review.db'}"
    settings = Settings(database_url=url, data_dir=data)
    db = connect(url)
    migrate(db)
    q = Queue(db, settings)
    for clip_id, kw in [
        ("r-plain", {"linkage": "r-deviceAAAA0001", "seconds": 1.2}),
        ("r-flagged", {"linkage": "r-deviceBBBB0001", "flagged": True}),
        ("r-xss", {"linkage": "r-deviceCCCC0001", "transcript": f"call [PERSON] {XSS}"}),
    ]:
        rec, _ = record(clip_id, **kw)
        q.enqueue(rec, wav_bytes(rec["duration"]))
    add_reviewer(db, "alice", PASSWORD)
    add_reviewer(db, "boss", PASSWORD, role="admin")
    server = Server(url, data, SOTTOVOCE_REVIEW_RR_EPSILON="20").start()
    yield server, db
    server.stop()
    db.dispose()


def shot(page, path: Path, *visible: str) -> None:
    for sel in visible:
        assert page.locator(sel).is_visible(), sel
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def sign_in(page, base: str, username: str) -> None:
    page.goto(base + "/review")
    page.wait_for_url("**/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")


def test_reviewer_page(site, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    server, db = site
    audio_requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--autoplay-policy=no-user-gesture-required"]
        )
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.on("request", lambda r: "/audio" in r.url and audio_requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        failed: list[tuple[int, str]] = []
        page.on("response", lambda r: r.status >= 400 and failed.append((r.status, r.url)))
        page.on("pageerror", lambda e: errors.append(str(e)))

        sign_in(page, server.base, "alice")
        page.wait_for_url("**/review")
        expect(page.locator("#purpose")).to_contain_text("training data")
        expect(page.locator("#who")).to_have_text("alice")

        # the profile: randomized in the browser, the same algorithm as the Python helper
        expect(page.locator("#profile-panel")).to_be_visible()
        same = page.evaluate(
            "() => { const d = [0.1, 0.95, 0.2, 0.97, 0.5, 0.1, 0.99, 0.3];"
            " return RR.perturb(['en', 'es'], ['en','es','fr','de','it','pt','nl','pl'], 1.0,"
            " () => d.shift()); }"
        )
        draws = iter([0.1, 0.95, 0.2, 0.97, 0.5, 0.1, 0.99, 0.3])
        vocab = ("en", "es", "fr", "de", "it", "pt", "nl", "pl")
        assert same == perturb(["en", "es"], vocab, 1.0, lambda: next(draws))
        page.check("#lang-en")
        page.check("#accent-us")
        shot(page, tmp_path / "1-profile.png", "#profile-panel", "#purpose")
        page.click("#profile-save")
        expect(page.locator("#profile-result")).to_contain_text("randomized")
        with db.reading() as s:
            alice = s.scalar(select(Reviewer).where(Reviewer.username == "alice"))
            assert alice.profile_epsilon == 20.0  # at eps=20 the flip chance is ~2e-9
            assert (alice.profile_languages, alice.profile_accents) == ("en", "us")

        # the first clip: waveform with the bleeped regions, editing, labels
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("n")
        expect(page.locator("#clip-panel")).to_be_visible()
        expect(page.locator("#transcript")).to_have_value("call [PERSON] at [PHONE_NUMBER] please")
        expect(page.locator("#play")).to_be_enabled()
        expect(page.locator("#spans li")).to_have_count(2)
        shade = page.evaluate(
            "() => { const c = document.getElementById('wave'); const ctx = c.getContext('2d');"
            " const x = Math.round(c.width * 0.3); return Array.from(ctx.getImageData(x, 30, 1, 1).data); }"
        )
        clear = page.evaluate(
            "() => { const c = document.getElementById('wave');"
            " return Array.from(c.getContext('2d').getImageData(3, 3, 1, 1).data); }"
        )
        assert shade[0] > shade[2] + 20 and abs(clear[0] - clear[2]) < 10  # orange vs blank
        page.keyboard.press("Space")
        page.wait_for_function(
            "() => document.getElementById('audio').currentTime > 0", timeout=5000
        )
        shot(page, tmp_path / "2-clip.png", "#wave", "#transcript", "#label-correct", "#skip")
        assert len(audio_requests) == 1

        page.fill("#transcript", "call John at [PHONE_NUMBER] please")  # un-masking: refused
        page.click("#label-corrected")
        expect(page.locator("#error")).to_contain_text("Keep the labels")
        page.fill("#transcript", "call [PERSON] on [PHONE_NUMBER] please")
        page.press("#transcript", "Control+Enter")
        expect(page.locator("#status")).to_contain_text("Saved")

        # the next clip is flagged: the warning first, no audio fetched until acknowledged
        expect(page.locator("#warning")).to_be_visible()
        expect(page.locator("#warning-categories")).to_have_text("HEALTH")
        expect(page.locator("#player")).to_be_hidden()
        expect(page.locator("#label-correct")).to_be_disabled()
        expect(page.locator("#skip")).to_be_enabled()
        page.keyboard.press("Space")  # nothing plays before the warning
        assert len(audio_requests) == 1
        shot(page, tmp_path / "3-warning.png", "#warning", "#warning-ack")
        page.click("#warning-ack")
        expect(page.locator("#player")).to_be_visible()
        expect(page.locator("#play")).to_be_enabled()
        assert len(audio_requests) == 2
        page.keyboard.press("s")
        expect(page.locator("#status")).to_contain_text("Skipped")

        # hostile text stays text
        page.keyboard.press("n")
        expect(page.locator("#transcript")).to_have_value(f"call [PERSON] {XSS}")
        page.keyboard.press("1")
        expect(page.locator("#status")).to_contain_text("Saved")
        assert page.evaluate("window.__xss") is None
        expect(page.locator("#ledger")).to_contain_text("2 clips")
        expect(page.locator("#exposure")).to_contain_text("3/300")

        # an admin rejects the first correction with feedback
        admin = browser.new_context().new_page()
        admin.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(admin, server.base, "boss")
        admin.wait_for_url("**/admin")
        expect(admin.locator("#pending tr")).to_have_count(2)
        assert admin.locator("#pending img").count() == 0 and admin.evaluate("window.__xss") is None
        row = admin.locator("#pending tr", has_text="call [PERSON] on [PHONE_NUMBER]")
        row.locator("input").fill("'on' should be 'at'")
        row.locator("button", has_text="Reject").click()
        expect(admin.locator("#pending tr")).to_have_count(1)
        admin.locator("#pending tr button", has_text="Accept").click()
        expect(admin.locator("#pending tr")).to_have_count(0)
        expect(admin.locator("#ledger tr")).to_have_count(1)
        shot(admin, tmp_path / "4-admin.png", "#ledger")

        # the reviewer sees the feedback and redoes the clip
        page.reload()
        expect(page.locator("#feedback-panel")).to_be_visible()
        expect(page.locator("#feedback-list")).to_contain_text("'on' should be 'at'")
        page.click("#feedback-list button.redo")
        expect(page.locator("#redo-note")).to_contain_text("'on' should be 'at'")
        expect(page.locator("#play")).to_be_enabled()
        shot(page, tmp_path / "5-redo.png", "#redo-note", "#transcript")
        page.keyboard.press("1")
        expect(page.locator("#status")).to_contain_text("Saved")
        expect(page.locator("#feedback-panel")).to_be_hidden()
        browser.close()

    unexpected = [
        (code, url)
        for code, url in failed
        if not url.endswith("/favicon.ico") and (code, url) != (401, server.base + "/api/me")
    ]
    assert unexpected == []
    with db.reading() as s:
        subs = s.execute(select(Submission.clip_id, Submission.label, Submission.status)).all()
    assert sorted(subs) == sorted(
        [
            ("r-plain", "corrected", "rejected"),
            ("r-xss", "correct", "accepted"),
            ("r-plain", "correct", "pending"),
        ]
    )
    assert not [e for e in errors if not e.startswith("Failed to load resource")], errors

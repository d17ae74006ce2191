"""OWASP basics over HTTP, on SQLite and PostgreSQL: authentication, IDOR, CSRF,
injection, path traversal, hostile bodies, unknown/expired/other people's clips. Every
refusal has the right status and an audit entry; nothing answers 500."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import timedelta

from redaction.review import audit
from redaction.review.audit import utcnow
from redaction.review.models import Clip
from tests.redaction.review.helpers import PASSWORD, record, wav_bytes


def refused(svc, response, status: int, action: str | None = None) -> dict:
    """Assert the status, and that the newest audit entry records this refusal."""
    assert response.status_code == status, (response.status_code, response.text)
    assert "error" in response.json()
    last = audit.entries(svc.db)[-1]
    assert last["status"] == status, last
    if action:
        assert last["action"] == action, last
    return last


def signed_in(svc, *names, role="reviewer"):
    return [svc.client(n, role=role) for n in names]


PROTECTED = [
    ("GET", "/api/me"),
    ("POST", "/api/logout"),
    ("POST", "/api/profile"),
    ("POST", "/api/claim"),
    ("GET", "/api/clips/r-1"),
    ("GET", "/api/clips/r-1/audio"),
    ("POST", "/api/clips/r-1/acknowledge"),
    ("POST", "/api/clips/r-1/submit"),
    ("POST", "/api/clips/r-1/skip"),
    ("POST", "/api/clips/r-1/redo"),
    ("GET", "/api/feedback"),
    ("GET", "/api/ledger"),
    ("GET", "/api/admin/submissions"),
    ("POST", "/api/admin/submissions/1/decide"),
    ("GET", "/api/admin/ledger"),
    ("GET", "/api/admin/skills"),
    ("GET", "/api/admin/counts"),
    ("GET", "/api/admin/audit"),
    ("POST", "/api/admin/clips"),
]


def test_every_api_route_is_listed_here(service):
    """A new route must be added to PROTECTED (or to the public list) to be tested."""
    public = {"/api/csrf", "/api/login", "/api/transparency"}
    from redaction.review import routes as reviewer_routes
    from redaction.review import routes_admin

    routes = {
        (m, r.path.replace("{clip_id}", "r-1").replace("{submission_id}", "1"))
        for r in reviewer_routes.router.routes + routes_admin.router.routes
        if r.path not in public
        for m in r.methods
    }
    assert routes == set(PROTECTED)


def test_authentication_is_required(service):
    service.enqueue("r-1")
    c = service.client()
    for method, url in PROTECTED:
        r = c.request(method, url, json={})
        last = refused(service, r, 401, "auth_required")
        assert last["actor"] == "anonymous"
    c.cookies.set("sv_session", "forged-token")
    refused(service, c.get("/api/me"), 401)


def test_reviewers_are_not_admins(service):
    (alice,) = signed_in(service, "alice")
    for method, url in PROTECTED:
        if "/admin/" in url:
            refused(service, alice.request(method, url, json={}), 403, "admin_required")


def test_idor_another_reviewers_clip(service):
    service.enqueue("r-1")
    alice, bob = signed_in(service, "alice", "bob")
    assert alice.post("/api/claim").json()["clip"]["id"] == "r-1"
    for method, url, body in [
        ("GET", "/api/clips/r-1", None),
        ("GET", "/api/clips/r-1/audio", None),
        ("POST", "/api/clips/r-1/acknowledge", None),
        ("POST", "/api/clips/r-1/submit", {"label": "correct"}),
        ("POST", "/api/clips/r-1/skip", None),
        ("POST", "/api/clips/r-1/redo", None),
    ]:
        r = bob.request(method, url, json=body)
        last = refused(service, r, 404)
        assert last["actor"] == "bob" and last["clip_id"] == "r-1"
        assert "denied" in last["action"]
    # unknown ids look exactly the same as other people's
    unknown = bob.get("/api/clips/r-999")
    assert unknown.status_code == 404 and unknown.json() == bob.get("/api/clips/r-1").json()
    assert alice.post("/api/clips/r-1/submit", json={"label": "correct"}).status_code == 200


def test_expired_clip_is_410(service):
    service.enqueue("r-1")
    (alice,) = signed_in(service, "alice")
    alice.post("/api/claim")
    with service.db.writing() as s:
        s.get(Clip, "r-1").expires_at = utcnow() - timedelta(seconds=1)
    refused(service, alice.get("/api/clips/r-1/audio"), 410, "audio_expired")
    refused(service, alice.post("/api/clips/r-1/submit", json={"label": "correct"}), 410)


def test_csrf(service):
    service.enqueue("r-1")
    alice, bob = signed_in(service, "alice", "bob")
    token = alice.headers.pop("X-CSRF-Token")
    refused(service, alice.post("/api/claim"), 403, "csrf_refused")
    refused(service, alice.post("/api/claim", headers={"X-CSRF-Token": "forged"}), 403)
    refused(service, alice.post("/api/claim", headers={"X-CSRF-Token": bob.csrf}), 403)
    evil = {"X-CSRF-Token": token, "Origin": "https://evil.example"}
    refused(service, alice.post("/api/claim", headers=evil), 403, "csrf_refused")
    ok = alice.post("/api/claim", headers={"X-CSRF-Token": token, "Origin": "http://testserver"})
    assert ok.status_code == 200
    # login CSRF: the double-submit token is required before a session exists
    c = service.client()
    refused(service, c.post("/api/login", json={"username": "x", "password": "y"}), 403)
    # a replayed request after logout
    old = dict(alice.cookies)
    assert alice.post("/api/logout", headers={"X-CSRF-Token": token}).status_code == 200
    replay = service.client()
    replay.cookies.update(old)
    refused(service, replay.post("/api/claim", headers={"X-CSRF-Token": token}), 401)


def test_session_cookie_flags_and_headers(service):
    c = service.client()
    token = c.get("/api/csrf").json()["csrf"]
    service.person("alice")
    r = c.post(
        "/api/login",
        json={"username": "alice", "password": PASSWORD},
        headers={"X-CSRF-Token": token},
    )
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("sv_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    for url in ("/review", "/api/me", "/static/review.js"):
        h = c.get(url).headers
        assert "script-src 'self'" in h["content-security-policy"]
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY"
    assert c.get("/api/me").headers["cache-control"] == "no-store"


def test_password_hashes_never_leak(service):
    service.enqueue("r-1")
    (boss,) = signed_in(service, "boss", role="admin")
    (alice,) = signed_in(service, "alice")
    alice.post("/api/claim")
    alice.post("/api/clips/r-1/submit", json={"label": "correct"})
    bodies = [boss.get(u).text for u in ("/api/me", "/api/admin/submissions", "/api/admin/audit")]
    bodies += [boss.get("/api/admin/ledger").text, alice.get("/api/me").text]
    for body in bodies:
        assert "$argon2" not in body and "password" not in body


def test_login_failures_are_throttled(service):
    service.person("alice")
    c = service.client()
    token = c.get("/api/csrf").json()["csrf"]
    h = {"X-CSRF-Token": token}
    for _ in range(5):
        r = c.post("/api/login", json={"username": "alice", "password": "wrong"}, headers=h)
        refused(service, r, 401, "login_failed")
    r = c.post("/api/login", json={"username": "alice", "password": PASSWORD}, headers=h)
    refused(service, r, 429, "login_throttled")


INJECTIONS = [
    "' OR '1'='1",
    "r-1'; DROP TABLE clips; --",
    '" OR ""="',
    "1 OR 1=1",
    "%27%20OR%201=1",
]


def test_sql_injection_attempts(service):
    service.enqueue("r-1")
    (alice,) = signed_in(service, "alice")
    (boss,) = signed_in(service, "boss", role="admin")
    c = service.client()
    token = c.get("/api/csrf").json()["csrf"]
    for s in INJECTIONS:
        r = c.post(
            "/api/login", json={"username": s, "password": s}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code in (401, 429)
        assert alice.get(f"/api/clips/{s}").status_code == 404
        assert alice.post(f"/api/clips/{s}/submit", json={"label": "correct"}).status_code == 404
        assert boss.get("/api/admin/audit", params={"clip_id": s}).status_code == 200
        assert c.post("/api/transparency", json={"receipts": [s]}).json() == {
            "clips": [{"known": False}]
        }
        r = alice.post("/api/clips/r-1/submit", json={"label": s})
        assert r.status_code in (404, 422)  # not claimed yet, or too long for a label
    assert alice.post("/api/claim").json()["clip"]["id"] == "r-1"  # the tables are intact
    r = alice.post("/api/clips/r-1/submit", json={"label": INJECTIONS[0]})
    refused(service, r, 422, "submit_invalid")


TRAVERSAL = [
    "/api/clips/..%2F..%2F..%2Fetc%2Fpasswd/audio",
    "/api/clips/%2e%2e/audio",
    "/api/clips/..%5c..%5cwindows/audio",
    "/api/clips/r-1%00.wav/audio",
    "/api/clips/r-1%0A/audio",
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/static/..%2fapp.py",
    "/static/%2e%2e%2f%2e%2e%2fmodels.py",
    "/static//etc/passwd",
]


def test_path_traversal(service):
    service.enqueue("r-1")
    (alice,) = signed_in(service, "alice")
    alice.post("/api/claim")
    for url in TRAVERSAL:
        r = alice.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert b"import" not in r.content and b"root:" not in r.content
        assert audit.entries(service.db)[-1]["status"] == 404
    # the stored file's name is the service's own, never the record's
    [stored] = list(service.settings.audio_dir.glob("*.wav"))
    assert len(stored.stem) == 32 and stored.parent == service.settings.audio_dir


def test_hostile_bodies(make_service):
    svc = make_service(max_body_bytes=4096)
    svc.enqueue("r-1")
    (alice,) = signed_in(svc, "alice")
    alice.post("/api/claim")
    url = "/api/clips/r-1/submit"
    big = json.dumps({"label": "corrected", "text": "x" * 10_000})
    h = {"Content-Type": "application/json"}
    refused(svc, alice.post(url, content=big, headers=h), 413, "body_too_large")

    def chunks():
        yield b'{"label": "corrected", "text": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    refused(svc, alice.post(url, content=chunks(), headers=h), 413, "body_too_large")
    refused(svc, alice.post(url, content="{not json", headers=h), 400, "body_malformed")
    refused(svc, alice.post(url, content="[" * 2000 + "]" * 2000, headers=h), 400)
    refused(svc, alice.post(url, content='{"label": NaN}', headers=h), 400, "body_malformed")
    refused(svc, alice.post(url, content=b"\xff\xfe", headers=h), 400, "body_malformed")
    refused(svc, alice.post(url, content="label=correct"), 415, "body_not_json")
    refused(svc, alice.post(url, json={"label": "correct", "extra": 1}), 422, "body_invalid")
    refused(svc, alice.post(url, json={"label": ["correct"]}), 422, "body_invalid")
    refused(svc, alice.post(url, json="correct"), 422, "body_invalid")
    refused(svc, alice.post(url, content="1" * 4000, headers=h), 422)
    refused(svc, alice.post(url, headers={**h, "Content-Length": "99999999"}), 413)
    assert alice.post(url, json={"label": "correct"}).status_code == 200


def test_deep_nesting_within_the_size_limit(make_service):
    svc = make_service(max_body_bytes=64 * 1024)
    (alice,) = signed_in(svc, "alice")
    deep = "[" * 30_000 + "]" * 30_000
    r = alice.post("/api/profile", content=deep, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422)


def test_upload_accepts_only_redacted_clips(service):
    service_token = "pipeline-secret-token"
    service.app.state.settings = replace(
        service.settings,
        ingest_token_sha256=hashlib.sha256(service_token.encode()).hexdigest(),
    )
    (boss,) = signed_in(service, "boss", role="admin")
    (alice,) = signed_in(service, "alice")
    rec, _ = record("r-up")
    body = {"record": rec, "audio_b64": base64.b64encode(wav_bytes()).decode()}
    refused(service, alice.post("/api/admin/clips", json=body), 403, "admin_required")
    raw = dict(rec, transcript="call john smith at 555 1234")
    r = boss.post("/api/admin/clips", json={**body, "record": raw})
    refused(service, r, 422, "enqueue_refused")
    r = boss.post("/api/admin/clips", json={**body, "audio_b64": "%%%"})
    refused(service, r, 422, "enqueue_refused")
    stereo = {**body, "audio_b64": base64.b64encode(b"RIFF....WAVEjunk").decode()}
    refused(service, boss.post("/api/admin/clips", json=stereo), 422, "enqueue_refused")
    pipe = service.client()
    bad = {"Authorization": "Bearer wrong"}
    refused(service, pipe.post("/api/admin/clips", json=body, headers=bad), 401, "ingest_refused")
    good = {"Authorization": f"Bearer {service_token}"}
    assert pipe.post("/api/admin/clips", json=body, headers=good).json() == {"id": "r-up"}
    refused(service, pipe.post("/api/admin/clips", json=body, headers=good), 409)
    assert (
        boss.post("/api/admin/clips", json={**body, "record": record("r-up2")[0]}).status_code
        == 200
    )


def test_no_endpoint_returns_linkage_or_receipts(service):
    receipt = service.enqueue("r-1", linkage="r-secretlinkage01")
    (alice,) = signed_in(service, "alice")
    (boss,) = signed_in(service, "boss", role="admin")
    texts = [alice.post("/api/claim").text, alice.get("/api/clips/r-1").text]
    alice.post("/api/clips/r-1/submit", json={"label": "correct"})
    texts += [alice.get("/api/feedback").text, alice.get("/api/ledger").text]
    texts += [boss.get(u).text for u in ("/api/admin/submissions", "/api/admin/audit")]
    texts += [service.client().post("/api/transparency", json={"receipts": [receipt]}).text]
    digest = hashlib.sha256(receipt.encode()).hexdigest()
    for t in texts:
        assert "r-secretlinkage01" not in t and digest not in t and receipt not in t

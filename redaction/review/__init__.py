"""The review queue: a web service where people check redacted clips, and nothing else.

    python -m redaction.review add-reviewer alice            # asks for a password
    python -m redaction.review enqueue redacted/             # <name>.json + <name>.wav pairs
    python -m redaction.review serve --port 8000             # http://127.0.0.1:8000/
    python -m redaction.review export --out corrections/manifest.jsonl
    python -m redaction.review purge                         # also runs inside `serve`

It accepts only redacted-clip records (``../shared/DESIGN.md``, "Redacted clip"), and it
never imports training, federated or model code: only the standard library, its own
modules and web/database libraries (a test checks this). See ``docs/review.md``.
"""

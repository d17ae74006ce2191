"""Command line of the review queue.

    python -m redaction.review serve [--host 127.0.0.1] [--port 8000] [--workers 1]
    python -m redaction.review add-reviewer alice [--admin] [--password-stdin]
    python -m redaction.review enqueue redacted/ more/clip.json [--language en] [--accent us]
    python -m redaction.review export --out corrections/manifest.jsonl [--labels correct,corrected]
    python -m redaction.review purge [--dry-run]
    python -m redaction.review migrate

Every command takes ``--db URL`` (default ``$SOTTOVOCE_REVIEW_DB``, else SQLite in the data
directory) and ``--data-dir DIR`` (default ``$SOTTOVOCE_REVIEW_DATA``, else
``./review-data``). Bad input prints one line, ``error: ...``, and exits with status 2.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from redaction.review import config


def _settings(args: argparse.Namespace) -> config.Settings:
    return config.from_env(database_url=args.db, data_dir=args.data_dir)


def _database(args: argparse.Namespace):
    from redaction.review.db import connect, migrate

    s = _settings(args)
    db = connect(s.url, pool_size=4, synchronous=s.sqlite_synchronous)
    migrate(db)
    return s, db


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the web service (migrating the database first)."""
    import uvicorn

    s, db = _database(args)
    db.dispose()
    if args.db:
        os.environ["SOTTOVOCE_REVIEW_DB"] = args.db
    if args.data_dir:
        os.environ["SOTTOVOCE_REVIEW_DATA"] = str(args.data_dir)
    print(f"review service on http://{args.host}:{args.port}/ (database {s.url.split('@')[-1]})")
    uvicorn.run(
        "redaction.review.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,  # the audit log records accesses; uvicorn's would hold clip ids too
        h11_max_incomplete_event_size=16 * 1024,
    )
    return 0


def cmd_add_reviewer(args: argparse.Namespace) -> int:
    """Create a reviewer or admin account."""
    from redaction.review.accounts import add_reviewer

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the passwords differ")
    _, db = _database(args)
    role = "admin" if args.admin else "reviewer"
    rid = add_reviewer(db, args.username, password, role=role)
    print(json.dumps({"id": rid, "username": args.username, "role": role}))
    return 0


def _pairs(sources: list[str]) -> list[Path]:
    out: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            found = sorted(p.glob("*.json"))
            if not found:
                raise ValueError(f"{p}: no <name>.json records in this directory")
            out += found
        elif p.suffix == ".wav" and p.with_suffix(".json").is_file():
            out.append(p.with_suffix(".json"))
        elif p.is_file():
            out.append(p)
        else:
            raise ValueError(f"{p}: no such file or directory")
    return out


def cmd_enqueue(args: argparse.Namespace) -> int:
    """Enqueue ``<name>.json`` + ``<name>.wav`` pairs; one JSON line per clip."""
    from redaction.review.errors import ReviewError
    from redaction.review.queue import Queue

    records = _pairs(args.sources)
    s, db = _database(args)
    queue = Queue(db, s)
    failed = 0
    for path in records:
        wav = path.with_suffix(".wav")
        try:
            try:
                record = json.loads(path.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ValueError("not a JSON file") from None
            if not wav.is_file():
                raise ValueError(f"no audio beside it ({wav.name})")
            clip_id = queue.enqueue(
                record, wav.read_bytes(), language=args.language, accent=args.accent
            )
            print(json.dumps({"file": str(path), "id": clip_id, "queued": True}))
        except (ReviewError, ValueError, OSError) as e:
            failed += 1
            print(json.dumps({"file": str(path), "queued": False, "reason": str(e)}))
    if failed:
        print(f"error: {failed} of {len(records)} clip(s) refused (reasons above)", file=sys.stderr)
        return 2
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write accepted corrections as manifest lines (with their audio beside)."""
    from redaction.review.admin import export

    labels = tuple(x.strip() for x in args.labels.split(",") if x.strip())
    s, db = _database(args)
    n = export(db, s, args.out, labels=labels)
    print(json.dumps({"manifest": str(args.out), "lines": n}))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete clips (and their audio) past their retention."""
    from redaction.review.retention import purge

    s, db = _database(args)
    print(json.dumps(purge(db, s, dry_run=args.dry_run)))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    """Bring the database schema up to date."""
    from redaction.review.db import current_revision

    _, db = _database(args)
    print(json.dumps({"revision": current_revision(db)}))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage mistake reported on one line (and exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def parser() -> argparse.ArgumentParser:
    """The command line's parser."""
    p = _Parser(
        prog="python -m redaction.review",
        description="The review queue: reviewers receive only redacted clips.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database URL (sqlite:///... or postgresql+psycopg://...)")
    common.add_argument("--data-dir", type=Path, help="audio and default database location")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    sp = sub.add_parser("serve", parents=[common], help=cmd_serve.__doc__)
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=8000)
    sp.add_argument("--workers", type=int, default=1)
    sp.add_argument("--log-level", default="warning")
    sp.set_defaults(func=cmd_serve)
    sp = sub.add_parser("add-reviewer", parents=[common], help=cmd_add_reviewer.__doc__)
    sp.add_argument("username")
    sp.add_argument("--admin", action="store_true", help="an admin (checks submissions)")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    sp.set_defaults(func=cmd_add_reviewer)
    sp = sub.add_parser("enqueue", parents=[common], help=cmd_enqueue.__doc__)
    sp.add_argument("sources", nargs="+", metavar="DIR_OR_FILES")
    sp.add_argument("--language", default="en", help="the clips' language (default en)")
    sp.add_argument("--accent", default="", help="the clips' accent, if known")
    sp.set_defaults(func=cmd_enqueue)
    sp = sub.add_parser("export", parents=[common], help=cmd_export.__doc__)
    sp.add_argument("--out", type=Path, required=True, help="manifest.jsonl to write")
    sp.add_argument("--labels", default="correct,corrected", help="labels to export")
    sp.set_defaults(func=cmd_export)
    sp = sub.add_parser("purge", parents=[common], help=cmd_purge.__doc__)
    sp.add_argument("--dry-run", action="store_true", help="count only")
    sp.set_defaults(func=cmd_purge)
    sp = sub.add_parser("migrate", parents=[common], help=cmd_migrate.__doc__)
    sp.set_defaults(func=cmd_migrate)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad input prints one line and returns 2."""
    from sqlalchemy.exc import SQLAlchemyError

    from redaction.review.errors import ReviewError

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, ReviewError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except SQLAlchemyError as e:
        first = str(e.orig if getattr(e, "orig", None) else e).splitlines()[0]
        print(f"error: database: {first}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

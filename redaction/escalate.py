"""Which clips a person may hear: the escalation policy and its append-only decision log.

A clip leaves the device for human review (through redaction) only when a rule fires:

* ``low_confidence``: the recognizer's confidence is below ``confidence_floor``;
* ``consented_sample``: the device consented, and the clip falls in a random sample at
  ``sample_rate``, drawn by a keyed hash (see :meth:`EscalationPolicy.draw`).

It never leaves when the wake word fired but the recognizer found no request or the user
cancelled (``suspected_false_wake``), when the device has not consented (``no_consent``; by
default consent is needed for *any* escalation, since a person will hear the clip), or when
the device reached its cap of escalations for the UTC day (``cap_day``) or in total
(``cap_total``). Otherwise it stays as ``confident`` (no sample is drawn) or ``not_sampled``.

Every decision, kept or escalated, is one line of a JSON Lines log; the caps are counted from
that log, so a restart does not reset them. Once the redaction pipeline has handled an
escalated clip, a follow-up line records its outcome (``queued`` with the redacted clip's
id, or ``withheld`` with the reason). A device lists its own decisions, nothing else::

    export SOTTOVOCE_ESCALATE_KEY=...   # the sample's secret key; it never leaves the device
    python -m redaction.escalate decide --log escalations.jsonl < clips.jsonl
    python -m redaction.escalate decide --log escalations.jsonl --config conf/redaction/escalate.yaml < clips.jsonl
    python -m redaction.escalate list dev0007 --log escalations.jsonl

``clips.jsonl`` holds one clip a line: ``{"clip", "device", "confidence", "false_wake",
"consent", "time"?}`` (``time``: ISO 8601; without a zone it is read as UTC; absent: now).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

try:  # serialises deciders that share a log (POSIX); without it, one process per log
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

ESCALATE, KEEP = "escalate", "keep"
RULES = ("low_confidence", "consented_sample")
KEEP_REASONS = (
    "suspected_false_wake",
    "no_consent",
    "cap_total",
    "cap_day",
    "confident",
    "not_sampled",
)
OUTCOMES = ("queued", "withheld")
CLIP_FIELDS = ("clip", "device", "confidence", "false_wake", "consent", "time")


class EscalationError(ValueError):
    """A setting, clip or log entry that cannot be used; the message names it."""


def _check_fraction(name: str, value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise EscalationError(f"{name}={value!r}: must be a number in [0, 1]")
    if not 0.0 <= value <= 1.0:
        raise EscalationError(f"{name}={value}: must be in [0, 1]")


def _check_count(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise EscalationError(f"{name}={value!r}: must be an integer >= 0")


@dataclass(frozen=True, kw_only=True)
class EscalationPolicy:
    """Settings of the escalation rules, validated at construction.

    Built by Hydra from ``conf/redaction/escalate.yaml`` (``_target_``) or directly.

    Args:
        confidence_floor: clips the recognizer is less confident about (in [0, 1]) escalate.
        sample_rate: the share of a consenting device's confident clips sampled for review.
        consent_for_all: when true (the default), a device that has not consented has no
            clip escalated at all; when false, its low-confidence clips may still escalate
            (the sample always needs consent).
        max_per_day: escalations per device per UTC calendar day.
        max_total: escalations per device over the whole log.
        key_env: the environment variable that holds the sample's secret key.
        sample_key: the key itself (tests, or a caller that manages keys); when None it is
            read from ``key_env``. Required when ``sample_rate > 0``; never logged or shown.
    """

    confidence_floor: float = 0.5
    sample_rate: float = 0.01
    consent_for_all: bool = True
    max_per_day: int = 3
    max_total: int = 50
    key_env: str = "SOTTOVOCE_ESCALATE_KEY"
    sample_key: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_fraction("confidence_floor", self.confidence_floor)
        _check_fraction("sample_rate", self.sample_rate)
        if not isinstance(self.consent_for_all, bool):
            raise EscalationError(
                f"consent_for_all={self.consent_for_all!r}: must be true or false"
            )
        _check_count("max_per_day", self.max_per_day)
        _check_count("max_total", self.max_total)
        key = self.sample_key if self.sample_key is not None else os.environ.get(self.key_env)
        if self.sample_rate > 0 and (not key or len(key) < 16):
            raise EscalationError(
                f"sample_rate={self.sample_rate} needs a secret key of at least 16 characters "
                f"in ${self.key_env} (e.g. `export {self.key_env}=$(openssl rand -hex 32)`), "
                "or sample_rate=0"
            )
        object.__setattr__(self, "sample_key", key)

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> EscalationPolicy:
        """A policy from a config mapping (``_target_`` allowed); unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        expected = "redaction.escalate.EscalationPolicy"  # not __name__: __main__ under -m
        target = settings.get("_target_", expected)
        if target != expected:
            raise EscalationError(f"_target_={target!r}: expected {expected}")
        unknown = sorted(set(settings) - known - {"_target_"})
        if unknown:
            raise EscalationError(
                f"unknown escalation setting(s) {unknown}; known: {sorted(known)}"
            )
        return cls(**{k: v for k, v in settings.items() if k != "_target_"})

    def draw(self, device: str, clip: str) -> float:
        """The clip's sample draw, uniform in [0, 1): HMAC-SHA256(key, [device, clip]).

        A keyed hash rather than a seeded generator: the draw of a clip depends on nothing
        but the key and its ids, so it is the same after a restart and in any order, anyone
        the device gives the key to can check that each sampled clip was really drawn, and
        without the key (held on the device) a server can neither predict nor steer it.
        """
        if not self.sample_key:
            raise EscalationError(f"no sample key: set ${self.key_env}")
        msg = json.dumps([device, clip]).encode()
        digest = hmac.new(self.sample_key.encode(), msg, hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") / 2.0**64

    def evaluate(self, clip: Clip, *, today: int, total: int) -> tuple[str, str]:
        """``(decision, reason)`` for a clip, given the device's escalations so far.

        Args:
            clip: the clip to decide.
            today: the device's escalations on the clip's UTC day.
            total: the device's escalations in all.

        Returns:
            ``("escalate", rule)`` or ``("keep", reason)``.
        """
        if clip.false_wake:
            return KEEP, "suspected_false_wake"
        if clip.confidence < self.confidence_floor:
            if self.consent_for_all and not clip.consent:
                return KEEP, "no_consent"
            rule = "low_confidence"
        elif self.sample_rate == 0:
            return KEEP, "confident"
        elif not clip.consent:
            return KEEP, "no_consent"
        elif self.draw(clip.device, clip.clip) >= self.sample_rate:
            return KEEP, "not_sampled"
        else:
            rule = "consented_sample"
        if total >= self.max_total:
            return KEEP, "cap_total"
        if today >= self.max_per_day:
            return KEEP, "cap_day"
        return ESCALATE, rule


def _utc(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise EscalationError(f"time {text!r} is not an ISO 8601 time") from None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Clip:
    """What the device knows about a clip when it decides (no audio, no transcript)."""

    clip: str
    device: str
    confidence: float
    false_wake: bool
    consent: bool
    time: datetime

    @classmethod
    def from_dict(cls, d: object, *, now: datetime | None = None) -> Clip:
        """Validate one input line's object; raises :class:`EscalationError` naming the field."""
        if not isinstance(d, dict):
            raise EscalationError(f"expected a JSON object, got {type(d).__name__}")
        missing = [k for k in CLIP_FIELDS if k != "time" and k not in d]
        if missing:
            raise EscalationError(f"missing field(s) {', '.join(missing)}")
        unknown = sorted(set(d) - set(CLIP_FIELDS))
        if unknown:
            raise EscalationError(f"unknown field(s) {', '.join(unknown)}")
        for k in ("clip", "device"):
            if not isinstance(d[k], str) or not d[k].strip():
                raise EscalationError(f"{k} must be a non-empty string, not {d[k]!r}")
        c = d["confidence"]
        if not isinstance(c, int | float) or isinstance(c, bool) or not math.isfinite(c):
            raise EscalationError(f"confidence must be a number in [0, 1], not {c!r}")
        if not 0.0 <= c <= 1.0:
            raise EscalationError(f"confidence {c} is outside [0, 1]")
        for k in ("false_wake", "consent"):
            if not isinstance(d[k], bool):
                raise EscalationError(f"{k} must be true or false, not {d[k]!r}")
        t = _utc(d["time"]) if d.get("time") is not None else (now or datetime.now(UTC))
        return cls(d["clip"], d["device"], float(c), d["false_wake"], d["consent"], t)


@dataclass(frozen=True)
class Decision:
    """One clip's decision, as written to the log."""

    clip: str
    device: str
    time: str
    decision: str
    reason: str

    @property
    def escalate(self) -> bool:
        return self.decision == ESCALATE

    def record(self) -> dict[str, str]:
        return {
            "clip": self.clip,
            "device": self.device,
            "time": self.time,
            "decision": self.decision,
            "reason": self.reason,
        }


def _parse_record(line: str) -> dict[str, Any]:
    """A log line as a decision or outcome record; ValueError if it is neither."""
    r = json.loads(line)
    if not isinstance(r, dict) or not isinstance(r.get("clip"), str):
        raise ValueError("not a record with a clip id")
    if "decision" in r:
        if r["decision"] not in (ESCALATE, KEEP) or not all(
            isinstance(r.get(k), str) for k in ("device", "time", "reason")
        ):
            raise ValueError("a decision record without device, time, decision or reason")
    elif r.get("outcome") not in OUTCOMES:
        raise ValueError("neither a decision nor an outcome record")
    return r


class DecisionLog:
    """The append-only JSON Lines log of escalation decisions, and the caps counted from it.

    Lines are appended with one ``write`` each (``O_APPEND``), then fsync'ed, under an
    exclusive ``flock``: several processes may decide into one log and the caps still hold.
    Unreadable lines (a line torn by a crash mid-write, or damage) are skipped and listed in
    :attr:`problems`; a torn last line is closed with a newline before the next append, so
    it never swallows a good line. A torn write never returned a decision, so skipping it
    cannot undercount escalations.

    Args:
        path: the log file; created on the first decision (its folder must exist).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.problems: list[str] = []
        self._decisions: dict[str, dict[str, Any]] = {}
        self._outcomes: dict[str, dict[str, Any]] = {}
        self._total: dict[str, int] = {}
        self._day: dict[tuple[str, str], int] = {}
        self._offset = 0  # bytes of complete lines read so far
        self._lines = 0
        self._torn = False  # the file ends in an unfinished line
        self._torn_at = -1  # the offset of the unfinished line already reported
        self.refresh()

    def refresh(self) -> None:
        """Read whatever was appended since the last read (by this or another process)."""
        if not self.path.is_file():
            return
        with self.path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            if f.tell() < self._offset:
                raise EscalationError(
                    f"{self.path}: the log shrank (truncated or replaced); an append-only "
                    "log cannot, so its caps cannot be trusted: restore it"
                )
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # complete lines only; the rest may be a torn write
        for raw in data[:end].split(b"\n")[:-1]:
            self._lines += 1
            start, self._offset = self._offset, self._offset + len(raw) + 1
            self._ingest(raw, quiet=start == self._torn_at)
        self._torn = end < len(data)
        if self._torn and self._offset != self._torn_at:
            self._torn_at = self._offset
            self.problems.append(
                f"{self.path} line {self._lines + 1}: unfinished last line (a write "
                "interrupted by a crash?), skipped"
            )

    def _ingest(self, raw: bytes, *, quiet: bool = False) -> None:
        if not raw.strip():
            return
        try:
            r = _parse_record(raw.decode("utf-8"))
            day = _utc(r["time"]).date().isoformat() if "decision" in r else ""
        except (ValueError, UnicodeDecodeError) as e:
            if not quiet:  # a torn line is reported once, when first seen
                self.problems.append(f"{self.path} line {self._lines}: unreadable ({e}), skipped")
            return
        if "decision" in r:
            self._decisions.setdefault(r["clip"], r)
            if r["decision"] == ESCALATE:  # a duplicate line counts twice: errs on the safe side
                dev = r["device"]
                self._total[dev] = self._total.get(dev, 0) + 1
                self._day[dev, day] = self._day.get((dev, day), 0) + 1
        else:
            self._outcomes.setdefault(r["clip"], r)

    @contextmanager
    def _locked(self) -> Iterator[int]:
        if not self.path.parent.is_dir():
            raise EscalationError(
                f"{self.path}: its folder {self.path.parent} does not exist; create it or "
                "pass the existing log with --log"
            )
        new = not self.path.exists()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if new:  # the new name survives a power cut too
                dfd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dfd)
                finally:
                    os.close(dfd)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self.refresh()
            yield fd
        finally:
            os.close(fd)  # closing releases the lock

    def _append(self, fd: int, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        data = (b"\n" if self._torn else b"") + line.encode("utf-8")
        os.write(fd, data)
        os.fsync(fd)
        self.refresh()

    def decision(self, clip: str) -> dict[str, Any] | None:
        """The logged decision of a clip, if any."""
        return self._decisions.get(clip)

    def decide(self, policy: EscalationPolicy, clip: Clip) -> Decision:
        """Decide a clip under ``policy``, append the decision, and return it.

        Raises:
            EscalationError: the clip id already has a decision (ids must be unique; look the
                earlier one up with :meth:`decision`), or the log cannot be written.
        """
        with self._locked() as fd:
            if clip.clip in self._decisions:
                old = self._decisions[clip.clip]
                raise EscalationError(
                    f"clip {clip.clip!r} already has a decision in {self.path} "
                    f"({old['decision']}, {old['reason']}); clip ids must be unique"
                )
            day = clip.time.date().isoformat()
            verdict, reason = policy.evaluate(
                clip,
                today=self._day.get((clip.device, day), 0),
                total=self._total.get(clip.device, 0),
            )
            d = Decision(clip.clip, clip.device, _iso(clip.time), verdict, reason)
            self._append(fd, d.record())
        return d

    def record_outcome(
        self, clip: str, *, redacted_id: str | None = None, withheld: str | None = None
    ) -> dict[str, Any]:
        """Append what became of an escalated clip: queued as ``redacted_id``, or withheld.

        Exactly one of ``redacted_id`` and ``withheld`` (the reason) must be given.
        """
        if (redacted_id is None) == (withheld is None):
            raise EscalationError("give exactly one of redacted_id and withheld (a reason)")
        value = redacted_id if redacted_id is not None else withheld
        if not isinstance(value, str) or not value.strip():
            raise EscalationError(f"the outcome needs a non-empty id or reason, not {value!r}")
        with self._locked() as fd:
            d = self._decisions.get(clip)
            if d is None or d["decision"] != ESCALATE:
                raise EscalationError(f"clip {clip!r} was not escalated in {self.path}")
            if clip in self._outcomes:
                raise EscalationError(f"clip {clip!r} already has an outcome in {self.path}")
            r = {"clip": clip, "time": _iso(datetime.now(UTC))}
            if redacted_id is not None:
                r |= {"outcome": "queued", "redacted_id": redacted_id}
            else:
                r |= {"outcome": "withheld", "reason": withheld}
            self._append(fd, r)
        return r

    def device_rows(self, device: str) -> list[dict[str, Any]]:
        """The device's decisions in log order, each with its outcome (if any) merged in."""
        rows = []
        for clip, d in self._decisions.items():
            if d["device"] == device:
                o = self._outcomes.get(clip, {})
                rows.append(
                    {
                        **d,
                        "outcome": o.get("outcome"),
                        "detail": o.get("redacted_id", o.get("reason")),
                    }
                )
        return rows


def format_device(log: DecisionLog, device: str) -> str:
    """A device's own decisions as a table; nothing about any other device."""
    rows = log.device_rows(device)
    if not rows:
        return f"device {device}: no escalation decisions in {log.path}"
    escalated = sum(r["decision"] == ESCALATE for r in rows)
    table = [("time", "clip", "decision", "reason", "outcome")] + [
        (
            r["time"],
            r["clip"],
            r["decision"],
            r["reason"],
            " ".join(x for x in (r["outcome"], r["detail"]) if x) or "-",
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [f"device {device}: {len(rows)} decisions, {escalated} escalated ({log.path})"]
    lines += [
        "  ".join([*(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)), row[4]])
        for row in table
    ]
    return "\n".join(line.rstrip() for line in lines)


def load_policy(path: str | os.PathLike | None) -> EscalationPolicy:
    """The policy a YAML config describes (``${oc.env:...}`` resolved), or the defaults."""
    if path is None:
        return EscalationPolicy()
    from omegaconf import OmegaConf

    if not Path(path).is_file():
        raise EscalationError(f"{path}: no such config file")
    try:
        settings = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as e:  # omegaconf/yaml raise many types; one line is what matters
        raise EscalationError(f"{path}: not a readable config ({type(e).__name__})") from None
    if not isinstance(settings, dict):
        raise EscalationError(f"{path}: expected a mapping of settings")
    return EscalationPolicy.from_mapping(settings)


def decide_stream(
    log: DecisionLog, policy: EscalationPolicy, src: Iterable[str | bytes], out: TextIO
) -> int:
    """Decide each JSON line of ``src``, printing each decision as one JSON line.

    Returns:
        The number of clips decided.

    Raises:
        EscalationError: on the first bad line, naming its number; earlier decisions stay.
    """
    decided = 0
    for n, line in enumerate(src, 1):
        try:
            text = line.decode("utf-8") if isinstance(line, bytes) else line
            if not text.strip():
                continue
            d = log.decide(policy, Clip.from_dict(json.loads(text)))
        except UnicodeDecodeError:
            raise EscalationError(f"stdin line {n}: not UTF-8 text") from None
        except json.JSONDecodeError as e:
            raise EscalationError(f"stdin line {n}: not JSON ({e.msg})") from None
        except (EscalationError, OSError) as e:
            raise EscalationError(f"stdin line {n}: {e}") from None
        print(json.dumps(d.record(), sort_keys=True), file=out, flush=True)
        decided += 1
    return decided


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """``decide`` or ``list``; returns the exit status (2 on any bad input)."""
    parser = _Parser(
        prog="python -m redaction.escalate",
        description="Decide which clips a person may hear, and list a device's decisions.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_decide = sub.add_parser("decide", help="decide the clips given as JSON lines on stdin")
    p_decide.add_argument("--log", required=True, help="the decision log (JSON Lines)")
    p_decide.add_argument(
        "--config", default=None, help="a policy YAML (default: the built-in defaults)"
    )
    p_list = sub.add_parser("list", help="one device's decisions and their outcomes")
    p_list.add_argument("device", help="the device id")
    p_list.add_argument("--log", required=True, help="the decision log (JSON Lines)")
    args = parser.parse_args(argv)

    log_path = Path(args.log)
    log: DecisionLog | None = None
    status = 0
    try:
        if args.command == "list":
            if not log_path.is_file():
                raise EscalationError(f"{log_path}: no decision log here; pass --log with one")
            log = DecisionLog(log_path)
            print(format_device(log, args.device))
        else:
            policy = load_policy(args.config)
            if not log_path.parent.is_dir():
                raise EscalationError(
                    f"{log_path}: its folder {log_path.parent} does not exist; create it or "
                    "pass the existing log with --log"
                )
            if not log_path.exists():
                print(f"note: starting a new decision log at {log_path}", file=sys.stderr)
            log = DecisionLog(log_path)
            decide_stream(log, policy, sys.stdin.buffer, sys.stdout)
    except (EscalationError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        status = 2
    for p in log.problems if log is not None else []:
        print(f"warning: {p}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())

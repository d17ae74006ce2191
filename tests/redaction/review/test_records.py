"""The queue accepts exactly the redacted-clip contract, and corrections keep the masks."""

from __future__ import annotations

import io
import struct
from datetime import timedelta

import numpy as np
import pytest
import soundfile as sf

from redaction.review.records import (
    RecordError,
    check_correction,
    check_record,
    check_wav,
)
from tests.redaction.review.helpers import record, wav_bytes


def test_the_pipelines_own_record_is_accepted():
    """RedactedClip.record() from the redaction pipeline passes as it is."""
    from redaction.redact import RedactedClip

    clip = RedactedClip(
        id="r-0123456789abcdef",
        audio=np.zeros(8000, dtype=np.float32),
        masked_transcript="call [PERSON] tomorrow",
        spans=[{"label": "PERSON", "t_start": 0.1, "t_end": 0.3}],
        content_warning=False,
        categories=[],
        expires_at="2999-01-01T00:00:00+00:00",
        linkage="r-fedcba9876543210",
        receipt_sha256="ab" * 32,
    )
    rec = check_record(clip.record())
    assert rec.id == clip.id and rec.duration == 0.5


def _bad(**change):
    rec, _ = record("r-1")
    for k, v in change.items():
        if v is KeyError:
            del rec[k]
        else:
            rec[k] = v
    return rec


@pytest.mark.parametrize(
    "rec, why",
    [
        (_bad(transcript="call john smith"), "unexpected field"),
        (_bad(device="dev0007"), "unexpected field"),
        (_bad(speaker="spk3"), "unexpected field"),
        (_bad(audio="/etc/passwd"), "unexpected field"),
        (_bad(linkage=KeyError), "missing field"),
        (_bad(receipt_sha256=KeyError), "missing field"),
        (_bad(id="../../etc/passwd"), "id must be"),
        (_bad(id=""), "id must be"),
        (_bad(id=7), "id must be"),
        (_bad(duration=0), "duration"),
        (_bad(duration=61.0), "duration"),
        (_bad(duration=True), "must be a number"),
        (_bad(duration=float("nan")), "finite"),
        (_bad(masked_transcript=None), "must be a string"),
        (_bad(masked_transcript="x" * 5000), "characters long"),
        (_bad(masked_transcript="hi\x00there"), "control characters"),
        (_bad(masked_transcript="call [EMAIL_ADDRESS]"), "with no span"),
        (_bad(spans="PERSON"), "spans must be a list"),
        (_bad(spans=[{"label": "PERSON", "t_start": 0.5, "t_end": 0.2}]), "not inside"),
        (_bad(spans=[{"label": "PERSON", "t_start": 0.1, "t_end": 9.0}]), "not inside"),
        (_bad(spans=[{"label": "person", "t_start": 0.1, "t_end": 0.2}]), "upper-case"),
        (
            _bad(spans=[{"label": "PERSON", "t_start": 0.1, "t_end": 0.2, "value": "Bob"}]),
            "unexpected",
        ),
        (_bad(content_warning="yes"), "true or false"),
        (_bad(categories=["HEALTH"]), "exactly when"),
        (_bad(content_warning=True), "exactly when"),
        (_bad(categories=["GOSSIP"], content_warning=True), "not special categories"),
        (_bad(expires_at="2020-01-01T00:00:00+00:00"), "expired"),
        (_bad(expires_at="2999-01-01T00:00:00"), "no UTC offset"),
        (_bad(expires_at="tomorrow"), "not an ISO 8601"),
        (_bad(linkage="dev 7"), "linkage"),
        (_bad(linkage="short"), "linkage"),
        (_bad(receipt_sha256="XYZ"), "64 lower-case hex"),
        ([1, 2, 3], "JSON object"),
        ("a string", "JSON object"),
    ],
)
def test_anything_else_is_refused(rec, why):
    with pytest.raises(RecordError, match=why):
        check_record(rec)


def test_expiry_is_checked_against_now():
    rec, _ = record("r-1", expires_in=timedelta(seconds=-1))
    with pytest.raises(RecordError, match="expired"):
        check_record(rec)


def _wav(x, sr=16000, subtype="PCM_16", channels=1) -> bytes:
    buf = io.BytesIO()
    data = np.repeat(np.asarray(x, np.float32)[:, None], channels, axis=1)
    sf.write(buf, data, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def test_wav_checks():
    assert check_wav(wav_bytes(0.6), duration=0.6) == pytest.approx(0.6)
    x = np.zeros(1600, np.float32)
    for bad, why in [
        (b"", "not a WAV"),
        (b"ID3" + b"\0" * 100, "not a WAV"),
        (_wav(x, sr=8000), "16-bit PCM mono 16000"),
        (_wav(x, channels=2), "16-bit PCM mono 16000"),
        (_wav(x, subtype="FLOAT"), "16-bit PCM mono 16000"),
        (_wav(x)[:-10], "RIFF size"),
    ]:
        with pytest.raises(RecordError, match=why):
            check_wav(bad)
    with pytest.raises(RecordError, match="record says"):
        check_wav(_wav(x), duration=0.5)


def test_a_second_data_chunk_is_refused():
    """A second data chunk could hide unredacted audio from a reader that stops early."""
    good = _wav(np.zeros(1600, np.float32))
    extra = b"data" + struct.pack("<I", 4) + b"\x01\x02\x03\x04"
    body = good[12:] + extra
    evil = b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body
    with pytest.raises(RecordError, match="exactly one fmt and one data"):
        check_wav(evil)


@pytest.mark.parametrize(
    "label, text, stored",
    [
        ("correct", None, "call [PERSON] at [PHONE_NUMBER]"),
        ("correct", "call [PERSON] at [PHONE_NUMBER]", "call [PERSON] at [PHONE_NUMBER]"),
        ("corrected", "  cold [PERSON]  at [PHONE_NUMBER] ", "cold [PERSON] at [PHONE_NUMBER]"),
        ("unintelligible", None, ""),
        ("not_speech", "whatever", ""),
    ],
)
def test_corrections_that_keep_the_masks(label, text, stored):
    assert check_correction("call [PERSON] at [PHONE_NUMBER]", label, text) == stored


@pytest.mark.parametrize(
    "label, text, why",
    [
        ("corrected", "call John Smith at [PHONE_NUMBER]", "keep the placeholders"),
        ("corrected", "call [PERSON] at 555 1234", "keep the placeholders"),
        ("corrected", "call [PHONE_NUMBER] at [PERSON]", "keep the placeholders"),
        ("corrected", "call [PERSON] [PERSON] at [PHONE_NUMBER]", "keep the placeholders"),
        ("corrected", "call [PERSON] at [PHONE_NUMBER] [x]", "brackets"),
        ("corrected", "   ", "cannot be empty"),
        ("corrected", None, "must be a string"),
        ("correct", "something else", "use 'corrected'"),
        ("great", "x", "one of"),
    ],
)
def test_corrections_cannot_unmask(label, text, why):
    with pytest.raises(RecordError, match=why):
        check_correction("call [PERSON] at [PHONE_NUMBER]", label, text)

"""python -m redaction.pii: JSON lines in, JSON lines with spans out; bad input exits 2."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from redaction.pii.__main__ import main, run


def w(text: str) -> list[str]:
    return text.split()


def call(stdin: str, **kw) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(io.StringIO(stdin), out, err, **kw)
    return code, out.getvalue(), err.getvalue()


def test_good_input_keeps_fields_and_adds_spans():
    lines = [
        {"id": "a", "words": w("call john at five five five one two three four"), "x": 1},
        {"id": "b", "words": []},
        {"id": "c", "words": w("set a timer for ten minutes")},
    ]
    code, out, err = call("".join(json.dumps(x) + "\n" for x in lines))
    assert code == 0 and err == ""
    got = [json.loads(ln) for ln in out.splitlines()]
    assert [g["id"] for g in got] == ["a", "b", "c"]
    assert got[0]["x"] == 1 and got[0]["words"] == lines[0]["words"]
    assert [(s["label"], s["start"], s["end"]) for s in got[0]["spans"]] == [
        ("PERSON", 1, 2),
        ("PHONE_NUMBER", 3, 10),
    ]
    assert all(0 < s["score"] <= 1 for s in got[0]["spans"])
    assert got[1]["spans"] == [] and got[2]["spans"] == []


def test_mask_flag():
    _, out, _ = call(json.dumps({"words": ["call", "john"]}) + "\n", with_mask=True)
    assert json.loads(out)["masked"] == "call [PERSON]"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"text": "call john"}', 'no "words"'),
        ('{"words": "call john"}', "list of strings"),
        ('{"words": ["call", 3]}', "list of strings"),
    ],
)
def test_bad_input_is_a_one_line_error_naming_the_line(bad, message):
    good = json.dumps({"words": ["call", "john"]})
    code, out, err = call(f"{good}\n\n{bad}\n{good}\n")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: line 3: ") and message in err
    assert [json.loads(ln)["words"] for ln in out.splitlines()] == [["call", "john"]]


def test_text_option(capsys):
    assert main(["--text", "call john at 555-1234", "--mask"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["masked"] == "call [PERSON] at [PHONE_NUMBER]"


def test_as_a_process_no_traceback():
    p = subprocess.run(
        [sys.executable, "-m", "redaction.pii"],
        input='{"words": ["call", "john"]}\nnot json\n',
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 2
    assert "Traceback" not in p.stderr and p.stderr.strip().startswith("error: line 2:")
    assert json.loads(p.stdout.splitlines()[0])["spans"][0]["label"] == "PERSON"

"""Scoring helpers of the recognizer evaluation, and the evaluation end to end on the tiny corpus."""

from __future__ import annotations

import json

import torch

from speech.asr.decode import WordHyp
from speech.asr.evaluate import evaluate_asr, matched_word_errors, pii_exact, select_clips
from speech.asr.lm import CharNgram
from speech.asr.model import ConformerCTC
from speech.asr.recognizer import Recognizer
from speech.asr.vocab import CharVocab
from speech.data.features import FeatureConfig
from speech.data.manifest import PiiSlot, Utterance, Word


def _utt(text: str, speaker: str = "a", pii=(), words=()) -> Utterance:
    return Utterance(
        id=text, audio="x.wav", duration=1.0, text=text, speaker=speaker, device="d",
        split="test", kind="request", pii=list(pii), words=list(words),
    )  # fmt: skip


def test_pii_exact_needs_every_word_of_the_slot():
    u = _utt("call john smith now", pii=[PiiSlot("PERSON", 1, 2, "John Smith")])
    assert pii_exact(u, "call john smith now") == [("PERSON", True)]
    assert pii_exact(u, "call john smyth now") == [("PERSON", False)]
    assert pii_exact(u, "call johnsmith now") == [("PERSON", False)]


def test_matched_word_errors_pairs_equal_words_only():
    u = _utt("a b c", words=[Word("a", 0.0, 0.1), Word("b", 0.2, 0.3), Word("c", 0.4, 0.5)])
    hyp = [WordHyp("a", 0.02, 0.1, 1.0), WordHyp("x", 0.2, 0.3, 1.0), WordHyp("c", 0.4, 0.56, 1.0)]
    errs = matched_word_errors(u, hyp)
    assert [tuple(round(e, 3) for e in p) for p in errs] == [(0.02, 0.0), (0.0, 0.06)]


def test_select_clips_spreads_over_speakers_deterministically():
    utts = [_utt(f"t{i}", speaker="ab"[i % 2]) for i in range(20)]
    picked = select_clips(utts, 6, seed=0)
    assert len(picked) == 6 and {u.speaker for u in picked} == {"a", "b"}
    assert picked == select_clips(utts, 6, seed=0)
    assert select_clips(utts, None, seed=0) == utts


def test_evaluate_writes_a_report(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    vocab = CharVocab()
    model = ConformerCTC(d_model=32, n_layers=1, n_heads=2, subsample_channels=8, n_mels=40)
    lm = CharNgram.train(["call mom", "play music"], vocab, order=3)
    rec = Recognizer(model, FeatureConfig(n_mels=40), vocab, lm=lm, beam_size=4)
    torch.manual_seed(0)
    report = evaluate_asr(rec, out, tmp_path, snrs=(5.0,), max_clips=4, progress=False)
    assert set(report["wer"]) == {"clean", "5dB"} and report["clips"] >= 1
    assert json.loads((tmp_path / "report.json").read_text())["clips"] == report["clips"]
    assert (tmp_path / "hypotheses.jsonl").read_text().count("\n") == report["clips"]

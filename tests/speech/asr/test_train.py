"""The recognizer trains through the shared loop; its checkpoint decodes with times and confidences."""

from __future__ import annotations

from functools import partial
from itertools import pairwise

import numpy as np
import pytest
import torch

from speech.asr.decode import BeamSearch, align_words, greedy, time_offsets
from speech.asr.lm import CharNgram
from speech.asr.recognizer import Recognizer, chunks
from speech.asr.task import ASRTask, silence_frames
from speech.asr.vocab import CharVocab
from speech.checkpoint import CheckpointError
from speech.data.dataset import make_loader
from speech.data.manifest import Word
from speech.train import TrainerConfig, fit, init_weights, warmup_cosine

SMALL = {"d_model": 32, "n_layers": 2, "n_heads": 2, "subsample_channels": 8}


def _peaky(vocab: CharVocab, text: str, frames_per_token: int = 3) -> torch.Tensor:
    """Log-probs whose best path spells ``text``: each token then blanks."""
    ids = vocab.encode(text)
    lp = torch.full((len(ids) * frames_per_token + 2, len(vocab)), -8.0)
    lp[:, 0] = -0.01
    for i, t in enumerate(ids):
        lp[1 + i * frames_per_token, t] = -0.01
        lp[1 + i * frames_per_token, 0] = -8.0
    return lp.log_softmax(-1)


def test_greedy_beam_and_alignment_agree_on_a_clear_path():
    v = CharVocab()
    lp = _peaky(v, "call mom now")
    assert greedy(lp, v) == "call mom now"
    assert BeamSearch(v, None, beam_size=4)(lp) == "call mom now"
    lm = CharNgram.train(["call mom now", "call dad"], v, order=3)
    assert BeamSearch(v, lm, beam_size=4)(lp) == "call mom now"
    words = align_words(lp, "call mom now", v, frame_seconds=0.04)
    assert [w.w for w in words] == ["call", "mom", "now"]
    assert all(a.end <= b.start + 1e-9 for a, b in pairwise(words))
    assert all(0.9 < w.conf <= 1.0 for w in words)
    # a word the audio does not support gets a low confidence
    assert align_words(lp, "call dad now", v, frame_seconds=0.04)[1].conf < 0.1


def test_chunks_cover_the_audio_and_cut_in_quiet_places():
    rng = np.random.default_rng(0)
    wave = rng.standard_normal(16000 * 50).astype(np.float32)
    wave[16000 * 18 : 16000 * 18 + 1600] = 0  # a pause inside the search window
    pieces = list(chunks(wave, 16000 * 20))
    assert sum(len(p) for _, p in pieces) == len(wave)
    assert all(len(p) <= 16000 * 20 for _, p in pieces)
    assert 16000 * 18 <= pieces[1][0] <= 16000 * 18 + 1600


def test_fit_and_transcribe(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    task = ASRTask(
        out / "manifest.jsonl",
        model=SMALL,
        features={"n_mels": 40},
        batch_seconds=30.0,
        lm_sentences=200,
        lm_order=3,
        beam_size=4,
    )
    cfg = TrainerConfig(max_epochs=1, patience=5, progress=False, num_workers=0)
    warmup = partial(warmup_cosine, warmup_steps=2)
    best = fit(task, cfg, tmp_path, scheduler=warmup)
    assert best["cer"] >= 0.0 and "first_start_offset" in best
    rec = Recognizer.load(tmp_path / "best.pt")
    assert rec.decoder == "beam"
    wave = np.random.default_rng(0).standard_normal(16000 * 45).astype(np.float32) * 0.05
    result = rec.transcribe(wave).as_dict()  # long: three chunks
    assert set(result) == {"text", "confidence", "words"}
    assert 0.0 <= result["confidence"] <= 1.0
    for w in result["words"]:
        assert 0 <= w["start"] <= w["end"] <= 45.0 and 0 <= w["conf"] <= 1
    assert rec.transcribe(np.zeros(16000, np.float32)).as_dict() == {
        "text": "",
        "confidence": 0.0,
        "words": [],
    }
    assert Recognizer.load(tmp_path / "best.pt", decoder="greedy").beam is None

    # fine-tuning starts from the checkpoint's weights, normalisation included
    model = task.build_model()
    init_weights(model, tmp_path / "best.pt")
    for k, v in Recognizer.load(tmp_path / "best.pt").model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    other = ASRTask(out / "manifest.jsonl", model={**SMALL, "d_model": 48}, lm_sentences=0)
    with pytest.raises(CheckpointError, match="do not fit this model"):
        init_weights(other.build_model(), tmp_path / "best.pt")
    cfg.init_from = str(tmp_path / "best.pt")
    assert fit(task, cfg, tmp_path / "tuned", scheduler=warmup)["wer"] >= 0.0


def test_silence_frames_leave_words_and_padding_alone():
    words = [Word("dim", 0.30, 0.50), Word("lights", 0.50, 0.80)]
    silent = silence_frames(words, 30, 0.04, valid=25, margin=0.06)
    assert silent[:6].all() and not silent[6:22].any()  # 0.24 s .. 0.86 s is speech
    assert silent[22:25].all() and not silent[25:].any()  # padding is not silence
    assert not silence_frames([], 30, 0.04, valid=25, margin=0.06).any()


def test_restricted_ctc_only_counts_alignments_that_keep_letters_near_words(tiny_corpus):
    out, _ = tiny_corpus

    def task(**kw):
        t = ASRTask(
            out / "manifest.jsonl",
            model=SMALL,
            features={"n_mels": 40},
            lm_sentences=0,
            mel_warp=0.0,  # no random augmentation: both losses see the same outputs
            spec_augment={"freq_masks": 0, "time_masks": 0},
            **kw,
        )
        t.datasets()
        return t

    restricted, plain = task(), task(restrict_to_words=False)
    train, _ = restricted.datasets()
    batch = next(iter(make_loader(train, shuffle=False, max_batch_seconds=10.0, seed=0)))
    torch.manual_seed(0)
    model = restricted.build_model().eval()  # no dropout either
    with torch.no_grad():
        r, _ = restricted.loss(model, batch)
        p, parts = plain.loss(model, batch)
    assert parts == {} and float(r) > float(p)  # fewer alignments: a lower likelihood
    soft = task(restrict_to_words=False, silence_weight=1.0)
    with torch.no_grad():
        _, parts = soft.loss(model, batch)
    assert parts["silence"] > 0


def test_time_offsets_cancel_the_median_bias_at_the_edges_and_inside():
    vocab = CharVocab()
    lp = _peaky(vocab, "dim the lights")
    placed = align_words(lp, "dim the lights", vocab, frame_seconds=0.04)
    truth = [Word(w.w, w.start + 0.01, w.end - 0.02) for w in placed]
    truth[0].start += 0.1  # the first word starts later, the last ends later than inside
    truth[-1].end += 0.05
    offsets = time_offsets([(placed, truth)] * 3)
    assert offsets == pytest.approx((0.01, -0.02, 0.11, 0.03))
    fixed = align_words(lp, "dim the lights", vocab, frame_seconds=0.04, offsets=offsets)
    for p, t in zip(fixed, truth, strict=True):
        assert p.start == pytest.approx(t.start) and p.end == pytest.approx(t.end)
    two = align_words(lp, "dim the lights", vocab, frame_seconds=0.04, offsets=offsets[:2])
    assert two[0].start == pytest.approx(placed[0].start + 0.01)  # old two-value checkpoints

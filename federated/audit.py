"""Empirical privacy audit of a federated run: planted canaries and membership inference.

Two attacks, reported beside the accountant's epsilon:

* **Canary exposure** (Carlini et al. 2019, *The Secret Sharer*), recognizer only. A few
  canaries, a carrier sentence followed by a random digit string ("my account number is four
  one seven nine two"), are planted among one device's training clips, several copies each.
  The digits are spoken in the device's voice but played *backwards*: speech-like sound that
  holds no evidence of the string, so the only way a model can transcribe it is to have
  memorised the label (a CTC recognizer cannot complete a silenced secret from the carrier
  alone, so masking with silence measures nothing). The attacker plays the canary audio and
  ranks every candidate digit string by the recognizer's CTC loss. Exposure = log2(candidates)
  - log2(rank of the true string); about 1.4 bits on average is chance, log2(candidates) full
  memorisation. Control canaries, built the same way but never planted, give what a model
  that memorised nothing scores.
* **Membership inference** (loss threshold, Yeom et al. 2018): the area under the ROC curve of
  telling the devices' local training clips (members) from their local test clips by the
  global model's per-clip loss. 0.5 is chance.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
CARRIER = "my account number is"


@dataclass
class Canary:
    id: str
    digits: str  # e.g. "41792"
    text: str
    audio: str  # relative to the canary manifest: the carrier, then the digits backwards
    planted: bool  # False: a control, never trained on


def spoken(digits: str) -> str:
    return " ".join(DIGITS[int(d)] for d in digits)


def plant(
    out_dir: str | os.PathLike,
    manifest: str | os.PathLike,
    device: str,
    *,
    n: int = 4,
    copies: int = 4,
    length: int = 5,
    controls: int | None = None,
    seed: int = 0,
) -> Path:
    """Speak ``n`` canaries and ``controls`` control canaries (default ``n``) in ``device``'s
    voice; write ``canaries.jsonl`` (a manifest whose clips belong to ``device``'s local
    training data, ``copies`` rows per planted canary) and ``canaries.json`` (the secrets, for
    the audit). Returns the manifest path."""
    from speech.audio import save_wav
    from speech.data.manifest import Utterance, read_manifest, write_manifest
    from speech.data.voices import catalogue, synthesize

    controls = n if controls is None else controls
    out = Path(out_dir)
    (out / "audio").mkdir(parents=True, exist_ok=True)
    speaker = next(u.speaker for u in read_manifest(manifest) if u.device == device)
    voice = catalogue([speaker])[0]
    rng = np.random.default_rng(seed)
    secrets: list[str] = []
    while len(secrets) < n + controls:
        s = "".join(str(d) for d in rng.integers(0, 10, length))
        if s not in secrets:
            secrets.append(s)
    waves = synthesize(voice, [CARRIER] + [spoken(s) for s in secrets])
    if any(w is None for w in waves):
        raise RuntimeError(f"{speaker}: could not speak the canaries")
    carrier = waves[0].wave
    pause = np.zeros(int(0.15 * 16000), dtype=np.float32)
    canaries, rows = [], []
    for i, (secret, synth) in enumerate(zip(secrets, waves[1:], strict=True)):
        planted = i < n
        cid = f"canary-{i}" if planted else f"control-{i - n}"
        wave = np.concatenate([carrier, pause, synth.wave[::-1]]).astype(np.float32)
        save_wav(out / "audio" / f"{cid}.wav", wave)
        text = f"{CARRIER} {spoken(secret)}"
        canaries.append(Canary(cid, secret, text, f"audio/{cid}.wav", planted))
        for c in range(copies if planted else 0):
            rows.append(
                Utterance(
                    id=f"{cid}-copy{c}",
                    audio=f"audio/{cid}.wav",
                    duration=round(len(wave) / 16000, 3),
                    text=text,
                    speaker=speaker,
                    device=device,
                    split="train",
                    kind="request",
                    words=[],
                )
            )
    path = out / "canaries.jsonl"
    write_manifest(path, rows)
    (out / "canaries.json").write_text(
        json.dumps({"device": device, "canaries": [asdict(c) for c in canaries]}, indent=1)
    )
    return path


@torch.no_grad()
def exposure(model, task, canary_dir: str | os.PathLike, *, candidates: int = 1000, seed: int = 0):
    """Per canary (planted and control): the rank of its true digit string among ``candidates``
    random ones (by CTC loss on the canary's audio) and its exposure in bits."""
    from speech.audio import load_wav

    meta = json.loads((Path(canary_dir) / "canaries.json").read_text())
    rng = np.random.default_rng(seed + 1)
    model.eval()
    out = []
    for c in meta["canaries"]:
        wave = torch.from_numpy(load_wav(Path(canary_dir) / c["audio"]))[None]
        feats = task.frontend(wave)
        n = task.frontend.lengths_to_frames(torch.tensor([wave.shape[1]]))
        log_probs, out_len = model(feats, n)
        length = len(c["digits"])
        pool = {c["digits"]}
        while len(pool) < candidates + 1:
            pool.add("".join(str(d) for d in rng.integers(0, 10, length)))
        strings = sorted(pool)
        targets = [torch.tensor(task.vocab.encode(f"{CARRIER} {spoken(s)}")) for s in strings]
        lp = log_probs.float().log_softmax(-1)[0, : int(out_len[0])]
        losses = []
        for chunk in range(0, len(targets), 256):
            tg = targets[chunk : chunk + 256]
            b = len(tg)
            losses += F.ctc_loss(
                lp[:, None].expand(-1, b, -1),
                torch.nn.utils.rnn.pad_sequence(tg, batch_first=True),
                torch.full((b,), lp.shape[0], dtype=torch.long),
                torch.tensor([len(t) for t in tg]),
                blank=0,
                reduction="none",
                zero_infinity=True,
            ).tolist()
        losses = np.array(losses)
        true = losses[strings.index(c["digits"])]
        rank = 1 + float(np.sum(losses < true)) + 0.5 * float(np.sum(losses == true) - 1)
        out.append(
            {
                "canary": c["id"],
                "planted": c["planted"],
                "rank": rank,
                "candidates": len(strings),
                "exposure": math.log2(len(strings)) - math.log2(rank),
            }
        )
    return out


def auc(members: list[float], nonmembers: list[float]) -> float:
    """P(score of a member > score of a non-member), ties counted half (Mann-Whitney U)."""
    from scipy.stats import rankdata

    m, n = len(members), len(nonmembers)
    if not m or not n:
        return math.nan
    ranks = rankdata(np.concatenate([members, nonmembers]))
    return float((ranks[:m].sum() - m * (m + 1) / 2) / (m * n))


@torch.no_grad()
def clip_losses(model, task, dataset) -> list[float]:
    """The task's training loss of each clip on its own, without augmentation."""
    from speech.data.dataset import collate
    from speech.data.features import SpecAugment

    model.eval()
    saved = {
        k: getattr(task, k) for k in ("mel_warp", "clip_prob", "spec_augment") if hasattr(task, k)
    }
    for k in ("mel_warp", "clip_prob"):
        if k in saved:
            setattr(task, k, 0.0)
    if "spec_augment" in saved:
        task.spec_augment = SpecAugment(freq_masks=0, time_masks=0)
    if hasattr(dataset, "train"):
        dataset.train = False  # fixed crops
    try:
        return [
            float(task.loss(model, collate([dataset[i]]), per_sample=True)[0])
            for i in range(len(dataset))
        ]
    finally:
        for k, v in saved.items():
            setattr(task, k, v)


def canary_device(manifest: str | os.PathLike, devices: list[str]) -> str:
    """The device the canaries go to: the first one with a flite voice (fast to synthesize),
    else the first device."""
    from speech.data.manifest import read_manifest

    speakers = {}
    for u in read_manifest(manifest):
        speakers.setdefault(u.device, u.speaker)
    for d in devices:
        if speakers.get(d, "").startswith("flite"):
            return d
    return devices[0]


def audit_run(
    setup,
    run_dir: str | os.PathLike,
    *,
    membership_clips: int = 200,
    candidates: int = 1000,
    seed: int = 0,
) -> dict:
    """The attacks on the run's starting model and on its result; writes ``audit.json``."""
    from federated.data import population
    from federated.local import _dataset, build_task, new_model
    from speech.checkpoint import read_checkpoint

    run = Path(run_dir)
    task = build_task(setup)
    contrib = [json.loads(x) for x in (run / "contribution.jsonl").read_text().splitlines() if x]
    trained = sorted({r["device"] for r in contrib if r["accepted"]})
    devices = population(setup.manifest, setup.task_name, max_devices=setup.max_devices)
    rng = np.random.default_rng(seed)
    members, nonmembers = [], []
    for d in trained or devices:
        m = _dataset(task, setup, d, "train")
        t = _dataset(task, setup, d, "test")
        if m is not None and t is not None:
            members.append(m)
            nonmembers.append(t)

    def sample(sets):
        flat = [(s, i) for s in sets for i in range(len(s))]
        pick = rng.permutation(len(flat))[:membership_clips]
        return [flat[i] for i in sorted(pick)]

    mem, non = sample(members), sample(nonmembers)
    start = read_checkpoint(setup.checkpoint)["state_dict"]
    final = read_checkpoint(run / "model.pt")["state_dict"]
    out: dict = {"membership": {}, "canaries": {}}
    for name, state in (("start", start), ("final", final)):
        model = new_model(setup, state)

        def losses(items, model=model):
            from speech.data.dataset import collate

            vals = []
            for ds, i in items:
                vals += clip_losses(model, task, _One(ds, i, collate))
            return vals

        # a member has a lower loss: the attack scores -loss
        lm, ln = losses(mem), losses(non)
        out["membership"][name] = {
            "auc": auc([-x for x in lm], [-x for x in ln]),
            "members": len(lm),
            "nonmembers": len(ln),
            "devices": len(members),
        }
        if setup.extra_manifest and setup.task_name == "asr":
            ex = exposure(
                model, task, Path(setup.extra_manifest).parent, candidates=candidates, seed=seed
            )
            planted = [e["exposure"] for e in ex if e["planted"]]
            control = [e["exposure"] for e in ex if not e["planted"]]
            out["canaries"][name] = {
                "mean_exposure": float(np.mean(planted)),
                "control_exposure": float(np.mean(control)) if control else math.nan,
                "per_canary": ex,
            }
    if setup.extra_manifest:
        meta = json.loads((Path(setup.extra_manifest).parent / "canaries.json").read_text())
        out["canary_device"] = meta["device"]
        out["canary_device_rounds"] = sum(
            1 for r in contrib if r["device"] == meta["device"] and r["accepted"]
        )
    (run / "audit.json").write_text(json.dumps(out, indent=1))
    return out


class _One(torch.utils.data.Dataset):
    """One item of a dataset, as a dataset (for :func:`clip_losses`)."""

    def __init__(self, ds, i, collate):
        self.ds, self.i = ds, i
        self.train = False
        if hasattr(ds, "train"):
            ds.train = False

    def __len__(self):
        return 1

    def __getitem__(self, _):
        return self.ds[self.i]

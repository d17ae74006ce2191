"""Voice anonymization that keeps what was acoustically said.

A reviewer checks what the recognizer heard, so the audio itself is transformed (never
re-synthesised from the transcript under review). Two methods:

* ``mcadams``: the VoicePrivacy Challenge baseline (Patino et al. 2021). Per 20 ms frame, the
  angles of the LPC poles are raised to the McAdams coefficient ``alpha`` (0.8), which moves
  the formants, and the LPC residual is filtered back through the new envelope.
* ``pseudo``: a pseudo-speaker of our design, resynthesised with the WORLD vocoder (pyworld).
  The source's F0 contour is normalised to the pseudo-speaker's register (its log-F0 mean and
  spread, so the speaker's own pitch statistics are gone while the intonation stays), its
  spectral envelope is frequency-warped (a vocal-tract-length change) and tilted by a random
  smooth curve, and its aperiodicity warped alike. A pseudo-speaker is drawn from a key: by
  default a fresh one per clip, so two clips of one device sound like two people; a policy may
  key it per device and review window instead.

    anon = Anonymizer("pseudo")
    out = anon(wave, key="clip-1234")     # 16 kHz mono float32, same length

Both fail closed: an error, a non-finite output, or silence made of speech raises
:class:`AnonymizationError`, and the redact path then withholds the clip.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

SAMPLE_RATE = 16000
METHODS = ("mcadams", "pseudo")


class AnonymizationError(RuntimeError):
    """The anonymizer could not transform the clip; the clip must not pass on."""


def _rng(key: str, secret: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{secret}/{key}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _lpc(frame: np.ndarray, order: int) -> np.ndarray:
    """LPC coefficients [1, a1..ap] by the autocorrelation method."""
    r = np.correlate(frame, frame, "full")[len(frame) - 1 : len(frame) + order]
    if r[0] <= 0:
        return np.r_[1.0, np.zeros(order)]
    r = r.copy()
    r[0] *= 1 + 1e-9  # white-noise correction keeps the system well conditioned
    a = solve_toeplitz(r[:order], -r[1 : order + 1])
    return np.r_[1.0, a]


def mcadams(
    wave: np.ndarray,
    alpha: float = 0.8,
    *,
    order: int = 20,
    win_ms: float = 20.0,
    hop_ms: float = 10.0,
    sample_rate: int = SAMPLE_RATE,
) -> np.ndarray:
    """The McAdams-coefficient anonymization of the VoicePrivacy baseline (B2)."""
    x = np.asarray(wave, dtype=np.float64)
    win = int(win_ms * sample_rate / 1000)
    hop = int(hop_ms * sample_rate / 1000)
    if len(x) < win:
        return np.zeros_like(wave, dtype=np.float32)
    hann = np.hanning(win)
    w = np.sqrt(hann / (hann.sum() / hop))  # analysis and synthesis windows overlap-add to 1
    out = np.zeros(len(x))
    eps = np.finfo(np.float64).eps
    for m in range(1 + (len(x) - win) // hop):
        i = m * hop
        frame = x[i : i + win] * w
        if not np.any(frame):
            continue
        a = _lpc(frame + eps, order)
        poles = np.roots(a)
        upper = np.imag(poles) > 0
        angles = np.clip(np.angle(poles[upper]) ** alpha, 0.0, np.pi)
        moved = np.abs(poles[upper]) * np.exp(1j * angles)
        new_poles = np.concatenate([poles[np.imag(poles) == 0], moved, np.conj(moved)])
        a_new = np.real(np.poly(new_poles))
        residual = lfilter(a, [1.0], frame)
        out[i : i + win] += lfilter([1.0], a_new, residual) * w
    peak = np.max(np.abs(out))
    level = np.max(np.abs(x))
    return (out / peak * level).astype(np.float32) if peak > 0 else out.astype(np.float32)


@dataclass(frozen=True)
class PseudoVoice:
    """A pseudo-speaker: register (log-F0 mean in Hz and spread), vocal-tract warp, tilt."""

    f0_hz: float
    f0_spread: float  # standard deviation of log F0
    warp: float  # > 1 shortens the vocal tract (formants up)
    tilt: tuple[float, ...]  # smooth log-spectral perturbation (cosine coefficients)

    @classmethod
    def draw(cls, rng: np.random.Generator) -> PseudoVoice:
        f0 = float(np.exp(rng.uniform(np.log(95), np.log(240))))
        # the vocal-tract warp follows the register loosely (higher voices, shorter tracts),
        # and is never close to 1, which would leave the formants where they were
        side = 1.0 if f0 > 150 else -1.0
        if rng.random() < 0.25:
            side = -side
        warp = float(1.0 + side * rng.uniform(0.08, 0.18))
        return cls(
            f0_hz=f0,
            f0_spread=float(rng.uniform(0.08, 0.2)),
            warp=warp,
            tilt=tuple(float(v) for v in rng.normal(0.0, 0.35, 6)),
        )


def _warp(env: np.ndarray, warp: float) -> np.ndarray:
    """Frequency-warp each frame of an envelope: output bin k reads input bin k / warp."""
    bins = env.shape[1]
    src = np.clip(np.arange(bins) / warp, 0, bins - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, bins - 1)
    frac = src - lo
    return env[:, lo] * (1 - frac) + env[:, hi] * frac


def pseudo(
    wave: np.ndarray, voice: PseudoVoice, *, sample_rate: int = SAMPLE_RATE, frame_ms: float = 5.0
) -> np.ndarray:
    """Resynthesise ``wave`` as ``voice`` with WORLD (pyworld)."""
    try:
        import pyworld as pw
    except ImportError as e:
        raise AnonymizationError(
            "the pseudo-speaker anonymizer needs pyworld: pip install -e '.[redaction]'"
        ) from e
    x = np.asarray(wave, dtype=np.float64)
    f0, t = pw.dio(x, sample_rate, frame_period=frame_ms, f0_floor=60.0, f0_ceil=500.0)
    f0 = pw.stonemask(x, f0, t, sample_rate)
    sp = pw.cheaptrick(x, f0, t, sample_rate)
    ap = pw.d4c(x, f0, t, sample_rate)
    voiced = f0 > 0
    new_f0 = np.zeros_like(f0)
    if voiced.sum() >= 2:
        lf = np.log(f0[voiced])
        spread = lf.std() if lf.std() > 1e-3 else 1.0
        new_f0[voiced] = np.exp((lf - lf.mean()) / spread * voice.f0_spread + np.log(voice.f0_hz))
    elif voiced.any():
        new_f0[voiced] = voice.f0_hz
    bins = sp.shape[1]
    grid = np.linspace(0, np.pi, bins)
    tilt = sum(c * np.cos((k + 1) * grid) for k, c in enumerate(voice.tilt))
    new_sp = _warp(sp, voice.warp) * np.exp(tilt)[None, :]
    new_ap = np.clip(_warp(ap, voice.warp), 0.0, 1.0)
    y = pw.synthesize(
        new_f0, np.ascontiguousarray(new_sp), np.ascontiguousarray(new_ap), sample_rate, frame_ms
    )
    y = np.resize(y, len(x)) if len(y) != len(x) else y
    peak, level = np.max(np.abs(y)), np.max(np.abs(x))
    return (y / peak * level).astype(np.float32) if peak > 0 else y.astype(np.float32)


class Anonymizer:
    """One anonymization method with its settings.

    Args:
        method: ``mcadams`` or ``pseudo``.
        alpha: the McAdams coefficient (``mcadams``); None draws one per key in [0.5, 0.9]
            as VoicePrivacy 2024's B2 does.
        secret: keys the pseudo-speaker draw; without it, anyone holding a clip id could
            redraw the voice and try to invert it. Set it per deployment.
    """

    def __init__(self, method: str = "pseudo", *, alpha: float | None = 0.8, secret: str = ""):
        if method not in METHODS:
            raise ValueError(
                f"anonymization method {method!r}: must be one of {', '.join(METHODS)}"
            )
        if alpha is not None and not 0 < alpha < 1:
            raise ValueError(f"McAdams alpha={alpha}: must be in (0, 1)")
        self.method, self.alpha, self.secret = method, alpha, secret

    def voice(self, key: str) -> PseudoVoice:
        return PseudoVoice.draw(_rng(key, self.secret))

    def __call__(self, wave: np.ndarray, *, key: str = "") -> np.ndarray:
        x = np.asarray(wave, dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(x)):
            raise AnonymizationError("the clip holds non-finite samples")
        if len(x) == 0 or not np.any(x):
            return x.copy()  # nothing to anonymize: silence stays silence
        try:
            if self.method == "mcadams":
                alpha = self.alpha
                if alpha is None:
                    alpha = float(_rng(key, self.secret).uniform(0.5, 0.9))
                y = mcadams(x, alpha)
            else:
                y = pseudo(x, self.voice(key))
        except AnonymizationError:
            raise
        except Exception as e:
            raise AnonymizationError(f"{self.method} failed: {e}") from e
        if len(y) != len(x) or not np.all(np.isfinite(y)):
            raise AnonymizationError(f"{self.method} produced a malformed signal")
        loud = np.sqrt(np.mean(x**2)) > 1e-3
        if loud and np.sqrt(np.mean(y**2)) < 1e-5:
            raise AnonymizationError(f"{self.method} turned speech into silence")
        return y

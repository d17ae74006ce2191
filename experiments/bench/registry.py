"""Every benchmark ``python -m experiments.bench`` runs: its command, its JSON, its peers.

A command is the argv after ``python -m``, run from the repository root; ``{name}`` in it is
the path of the prerequisite ``name`` (a corpus folder is found from its Hydra config without
building it). Durations are rough, for 2 CPU cores.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from experiments.bench import rows as R

ROOT = Path(__file__).resolve().parents[2]
RESULTS = "experiments/bench/results"  # relative to ROOT, where every command runs
RESULTS_DIR = ROOT / RESULTS
STORED_GPU = "train_throughput_nvidia-h200.json"  # shown when no GPU is here to rerun it
# python -m experiments.bench.train_throughput's own corpus (see its docstring).
GPUBENCH = (
    "data=tiny",
    "data.name=gpubench",
    "data.n_wake=300",
    "data.n_negative=300",
    "data.n_requests=300",
    "data.stream_hours=0.02",
    "workers=1",
)


@functools.cache
def corpus_folder(overrides: tuple[str, ...]) -> Path:
    """The folder ``python -m speech.data.synth OVERRIDES`` builds or reuses
    (``corpora/<name>-<digest>``), found without building anything."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from speech.data.build import corpus_dir

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="synth", overrides=list(overrides))
    return corpus_dir(instantiate(cfg.data, _convert_="all"), cfg.out_root)


@dataclass(frozen=True)
class Prerequisite:
    """A corpus or checkpoint a benchmark reads, and the command that makes it.

    Attributes:
        what: one line for people.
        locate: its path, relative to the repository root.
        marker: the file inside it that marks it finished ("" when it is a file).
        make: argv after ``python -m`` that makes it; empty when nothing here does.
        minutes: rough time to make it on 2 CPU cores.
    """

    what: str
    locate: Callable[[], Path]
    marker: str = ""
    make: tuple[str, ...] = ()
    minutes: float = 0.0

    def present(self) -> bool:
        """Whether it is there (finished, for a corpus)."""
        return (ROOT / self.locate() / self.marker).is_file()


def _corpus(what: str, overrides: tuple[str, ...], minutes: float) -> Prerequisite:
    return Prerequisite(
        what,
        functools.partial(corpus_folder, overrides),
        "summary.json",
        ("speech.data.synth", *overrides),
        minutes,
    )


def _shipped(path: str) -> Prerequisite:
    return Prerequisite(f"{path} (shipped in the repository)", lambda: Path(path))


PREREQUISITES: dict[str, Prerequisite] = {
    "default_corpus": _corpus("corpus data=default: held-out test voices", ("data=default",), 10),
    "federated_corpus": _corpus("corpus data=federated: 100 devices", ("data=federated",), 5),
    "gpubench_corpus": _corpus("corpus gpubench: train_throughput's", GPUBENCH, 3),
    "jarvis_checkpoint": Prerequisite(
        "our 'hey jarvis' wake word (conf/experiment/hey_jarvis.yaml), its corpus built first",
        lambda: Path("outputs/kws-jarvis/best.pt"),
        make=("speech.train", "+experiment=hey_jarvis"),
        minutes=60,
    ),
    "asr_whisper_head": _shipped("models/asr-whisper-head/model.pt"),
    "asr_tiny": _shipped("models/asr-tiny/model.pt"),
    "kws_hey_nova": _shipped("models/kws-hey-nova/model.pt"),
}


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: what it measures against whom, how it runs, and how to read its JSON.

    Attributes:
        name: the name ``--only``/``--skip`` take.
        what: what it measures, one line.
        peers: the peer(s) or baseline measured in the same run.
        commands: argv after ``python -m`` each, run in order; ``{prerequisite}`` is replaced.
        outputs: the JSON files it writes under :data:`RESULTS`.
        rows: the outputs' documents, in order -> :class:`~experiments.bench.rows.Row` s.
        sizes: the same documents -> one line on the data the figures rest on.
        minutes: rough duration on 2 CPU cores, prerequisites not included.
        prerequisites: keys of :data:`PREREQUISITES`.
        notes: what to keep in mind reading the figures.
        needs_cuda: runs only where a CUDA device is visible.
    """

    name: str
    what: str
    peers: str
    commands: tuple[tuple[str, ...], ...]
    outputs: tuple[str, ...]
    rows: Callable[..., list[R.Row]]
    sizes: Callable[..., str]
    minutes: float
    prerequisites: tuple[str, ...] = ()
    notes: str = ""
    needs_cuda: bool = False

    def files(self, results: Path = RESULTS_DIR) -> list[Path]:
        """Its JSON files in ``results`` (where its commands write them, by default)."""
        return [results / o for o in self.outputs]

    def argv(self) -> list[list[str]]:
        """Its commands with the prerequisites' paths filled in (locating them composes
        Hydra configs: about a second)."""
        paths = {k: str(PREREQUISITES[k].locate()) for k in self.prerequisites}
        return [[a.format_map(paths) for a in cmd] for cmd in self.commands]


BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark(
        "asr",
        "recognizers (whisper-head, conformer): WER on held-out robotic, natural and real speech; CPU cost",
        "pocketsphinx 5.1.1, Whisper tiny.en (same clips)",
        (
            (
                "experiments.asr_designs",
                "--corpus",
                "{default_corpus}",
                "--model",
                "whisper-head={asr_whisper_head}",
                "--model",
                "conformer={asr_tiny}",
                "--robotic-clips",
                "100",
                "--out",
                f"{RESULTS}/asr.json",
            ),
        ),
        ("asr.json",),
        R.asr_rows,
        R.asr_sizes,
        12,
        ("default_corpus", "asr_whisper_head", "asr_tiny"),
        "Silver references are Whisper base transcripts of the real readings, not ground truth: "
        "they rank systems, a WER against them is not an absolute figure. The corpus keeps only "
        "voices pocketsphinx transcribes well, a bias in the peer's favour.",
    ),
    Benchmark(
        "kws",
        "wake word 'hey jarvis': FRR at 0.5 false accepts per hour, CPU time per audio second",
        "openWakeWord 0.5.1's pretrained hey_jarvis (same positives and negative stream)",
        (
            (
                "experiments.bench.kws_vs_openwakeword",
                "--checkpoint",
                "{jarvis_checkpoint}",
                "--out",
                RESULTS,
            ),
        ),
        ("kws_vs_openwakeword.json",),
        R.kws_rows,
        R.kws_sizes,
        20,
        ("jarvis_checkpoint",),
        "Needs openwakeword: pip install -e '.[peers]' && pip install --no-deps "
        "openwakeword==0.5.1. Both run on one thread; ours in the Python streaming detector.",
    ),
    Benchmark(
        "pii_text",
        "PII detection in request text: word-level micro precision and recall, over-masking",
        "Presidio 2.2 with spaCy en_core_web_sm (same sentences)",
        (
            (
                "redaction.pii.metrics",
                "--split",
                "test",
                "--n",
                "500",
                "--json",
                f"{RESULTS}/pii_text.json",
            ),
            (
                "redaction.pii.metrics",
                "--split",
                "test",
                "--n",
                "500",
                "--peer",
                "presidio",
                "--json",
                f"{RESULTS}/pii_text_presidio.json",
            ),
        ),
        ("pii_text.json", "pii_text_presidio.json"),
        R.pii_rows,
        R.pii_sizes,
        6,
        notes="Held-out templates and values (test split) the detector was never tuned on. "
        "Micro averages are over every label either detector predicts, so Presidio's labels we "
        "do not annotate count against its precision.",
    ),
    Benchmark(
        "redaction_audio",
        "the redact path on spoken PII: share of clips from which a listener recovers any PII value",
        "the original, unredacted audio (same listeners)",
        (
            (
                "redaction.evaluate",
                "--clips",
                "100",
                "--seed",
                "0",
                "--out",
                f"{RESULTS}/redaction_audio",
            ),
        ),
        ("redaction_audio.json",),
        R.redaction_rows,
        R.redaction_sizes,
        12,
        ("asr_tiny",),
        "Listeners: Whisper base (stronger than the transcriber) and pocketsphinx. Only every "
        "4th original clip is listened to: it shows how much there was to hide.",
    ),
    Benchmark(
        "anonymization",
        "voice anonymization: speaker-verification EER per attacker, and the WER it costs",
        "McAdams 0.8 (VoicePrivacy baseline) and no anonymization (same clips)",
        (
            (
                "experiments.anonymization",
                "--per-voice",
                "8",
                "--epochs",
                "10",
                "--out",
                f"{RESULTS}/anonymization",
            ),
        ),
        ("anonymization.json",),
        R.anonymization_rows,
        R.anonymization_sizes,
        20,
        ("asr_tiny",),
        "Higher EER hides the speaker better (50% is chance). The script caches its clips in "
        "outputs/anonymization/clips.npz whatever --per-voice is: the clip count above is the "
        "one used.",
    ),
    Benchmark(
        "federated",
        "federated wake-word training under user-level DP (epsilon 8): the devices' FRR gain",
        "non-private federated training; central training on the pooled clips",
        (
            (
                "experiments.federated_privacy",
                "--task",
                "kws",
                "--run",
                "none",
                "--run",
                "user_dp:8 privacy.user.clipping_norm=0.1 federated.select_noise=1.5",
                "--central-epochs",
                "12",
                "--set",
                "federated=best_round",
                "--out",
                f"{RESULTS}/federated_kws",
            ),
        ),
        ("federated_kws.json",),
        R.federated_rows,
        R.federated_sizes,
        15,
        ("federated_corpus", "default_corpus", "kws_hey_nova"),
        "All three start from models/kws-hey-nova. The devices' figures are on their own local "
        "test clips; the central test set shows forgetting. Both federated runs use "
        "conf/federated/best_round.yaml (lr 0.005, 32 public replay clips a round, the round "
        "the devices' validation clips liked best, guarded by the central dev set); the DP run "
        "clips updates at 0.1 (their norms are 0.07-0.17) and chooses its round privately "
        "(noise multiplier 1.5 on the devices' validation errors): its epsilon 8 covers the "
        "training rounds and the choice. With the plain recipe the shipped "
        "wake word loses, and DP runs differ by their noise draws "
        "(experiments/results/federated.md).",
    ),
    Benchmark(
        "dp_step",
        "DP-SGD (Opacus) training step time, per model and grad-sample mode",
        "the non-private step on the same batch",
        (
            (
                "experiments.bench.opacus_step_time",
                "--corpus",
                "{default_corpus}",  # its training and dev splits (the federated one has no dev)
                "--out",
                RESULTS,
            ),
        ),
        ("opacus_step_time_cpu-1thread.json",),
        R.dp_step_rows,
        R.dp_step_sizes,
        3,
        ("default_corpus", "kws_hey_nova", "asr_tiny"),
    ),
    Benchmark(
        "train_throughput",
        "training throughput of speech.train.fit on CPU, clips per second per model config",
        "none on CPU: an absolute figure (GPU against CPU in the GPU section)",
        (
            (
                "experiments.bench.train_throughput",
                "--corpus",
                "{gpubench_corpus}",
                "--devices",
                "cpu",
                "--label",
                "cpu",
                "--out",
                RESULTS,
            ),
        ),
        ("train_throughput_cpu.json",),
        R.train_cpu_rows,
        R.train_sizes,
        10,
        ("gpubench_corpus",),
        "Median clips/s of the training batches over the epochs after the first.",
    ),
    Benchmark(
        "train_throughput_gpu",
        "training throughput on the GPU, mixed precision, clips per second per model config",
        "the same machine's CPU, fp32, in the same run",
        (
            (
                "experiments.bench.train_throughput",
                "--corpus",
                "{gpubench_corpus}",
                "--devices",
                "cpu,cuda",
                "--epochs",
                "4",
                "--repeat",
                "cpu=1,cuda=16",
                "--label",
                "gpu",
                "--out",
                RESULTS,
            ),
        ),
        ("train_throughput_gpu.json",),
        R.train_gpu_rows,
        R.train_sizes,
        5,
        ("gpubench_corpus",),
        "GPU epochs list each training clip 16 times (a sub-second epoch's clips/s swings).",
        needs_cuda=True,
    ),
    Benchmark(
        "synth",
        "corpus synthesis speed per voice: seconds of audio per wall-clock second",
        "the bare TTS engine on the same sentences",
        (("experiments.bench.synth_throughput", "--sentences", "20", "--out", RESULTS),),
        ("synth_throughput.json",),
        R.synth_rows,
        R.synth_sizes,
        2,
        notes="Ours adds sox post-processing to 16 kHz and, for the second figure, word times "
        "(forced alignment, or festival's own).",
    ),
)

BY_NAME = {b.name: b for b in BENCHMARKS}

"""The whole system from one command: ``python -m experiments.pipeline`` (``make demo``).

A Hydra app (``conf/pipeline.yaml``) whose stages run in order into
``outputs/pipeline/<run>/`` (``run=demo`` by default):

1. ``corpus``: the held-out test set (``data=demo``) and the federated homes (``devices``);
2. ``models``: the shipped wake word and recognizer (or ``models.train=true``);
3. ``kws``: wake-word FRR at 0.5 false accepts an hour on held-out speakers;
4. ``asr``: recognizer WER, ours and Whisper tiny.en's on the same clips;
5. ``federated``: the wake word trained on the devices under user-level DP (FRR before and
   after, epsilon per device);
6. ``escalate``: the devices' requests through the escalation policy, the escalated ones
   redacted, anonymized and enqueued in a SQLite review queue;
7. ``redaction``: PII recall and the audio leak rate of the redact path;
8. ``anonymization``: speaker-verification EER of anonymized speech;
9. ``report``: ``report.md`` with plots, and the command that opens the reviewer UI.

Each stage stores its result in ``stages/<stage>.json``; running the same command again
skips what is fresh, and a changed setting reruns its stage and the stages that use it::

    python -m experiments.pipeline                                  # the demo, < 15 min
    python -m experiments.pipeline run=full pipeline=full           # data=default, 100 homes
    python -m experiments.pipeline data=default federated.rounds=20 asr.clips=400
    python -m experiments.pipeline skip=[federated,redaction] force=[kws]
"""

from experiments.pipeline.build import (
    check_models,
    corpus,
    models_fingerprint,
)
from experiments.pipeline.build import models as load_models
from experiments.pipeline.escalation import escalate
from experiments.pipeline.federate import federated
from experiments.pipeline.measure import asr, kws
from experiments.pipeline.privacy import anonymization, redaction
from experiments.pipeline.report import report
from experiments.pipeline.runner import Stage


def stages() -> list[Stage]:
    """The pipeline's stages, each after the ones it uses."""
    return [
        Stage(
            "corpus",
            "build or find the held-out test set and the federated homes",
            corpus,
            settings=("data", "devices", "out_root"),
        ),
        Stage(
            "models",
            "load the wake word and the recognizer",
            load_models,
            settings=("models",),
            fingerprint=models_fingerprint,
        ),
        Stage(
            "kws",
            "wake-word FRR at 0.5 false accepts an hour on held-out speakers",
            kws,
            settings=("kws",),
            uses=("corpus", "models"),
        ),
        Stage(
            "asr",
            "recognizer WER, ours and Whisper's, on the same held-out requests",
            asr,
            settings=("asr",),
            uses=("corpus", "models"),
        ),
        Stage(
            "federated",
            "federated rounds with user-level DP on the simulated devices",
            federated,
            settings=("federated", "privacy", "federated_run"),
            uses=("corpus", "models"),
        ),
        Stage(
            "escalate",
            "escalate, redact, anonymize and enqueue the devices' requests",
            escalate,
            settings=("escalate",),
            uses=("corpus", "models"),
        ),
        Stage(
            "redaction",
            "PII recall and the audio leak rate of the redact path",
            redaction,
            settings=("redaction",),
            uses=("models",),
        ),
        Stage(
            "anonymization",
            "speaker-verification EER of anonymized speech",
            anonymization,
            settings=("anonymization",),
            uses=("corpus",),
        ),
        Stage(
            "report",
            "write report.md and its plots",
            report,
            settings=("run",),
            uses=(
                "corpus",
                "models",
                "kws",
                "asr",
                "federated",
                "escalate",
                "redaction",
                "anonymization",
            ),
        ),
    ]


__all__ = ["check_models", "stages"]

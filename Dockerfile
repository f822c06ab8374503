# The service alone: onnxruntime + tokenizers + FastAPI, no torch. Build from the repo root:
#   docker build -t triage .   &&   docker run -p 8000:8000 triage
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY triage ./triage
RUN pip install ".[service]"
COPY configs ./configs
COPY models ./models

RUN useradd --create-home --uid 10001 triage
USER triage

ENV TRIAGE_HOST=0.0.0.0 \
    TRIAGE_PORT=8000 \
    TRIAGE_BUNDLE_DIR=/app/models/triage-minilm \
    TRIAGE_CONFIG_DIR=/app/configs
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"

CMD ["triage", "serve"]

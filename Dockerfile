# One image for every CivicPulse Python process: the ingest, metrics and alerts services, the one-shot setup
# job and the simulator; the compose file picks the command (`civicpulse ingest serve`, ...).
# Build: docker build -t civicpulse .    Run: docker run --rm civicpulse --help

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
# A virtualenv copied whole into the runtime image: no compiler, pip cache or sources there.
RUN python -m venv /opt/civicpulse \
 && /opt/civicpulse/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/civicpulse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CIVICPULSE_HTTP_HOST=0.0.0.0
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent civicpulse
COPY --from=build /opt/civicpulse /opt/civicpulse
USER civicpulse:civicpulse
WORKDIR /tmp
EXPOSE 8001 8002 8003
# Liveness of whichever service runs here; the port is the service's CIVICPULSE_HTTP_PORT (set by compose).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('CIVICPULSE_HTTP_PORT', '8000') + '/healthz', timeout=2)"]
ENTRYPOINT ["civicpulse"]
CMD ["--help"]

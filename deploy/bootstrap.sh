#!/usr/bin/env bash
# Installs what CivicPulse needs on a fresh Debian machine: system packages (as root), a virtualenv with the
# project, and the Kafka jars. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the board's browser test drives Debian's chromium headless (Playwright never downloads a browser);
# fonts-dejavu-core: a font with every Vietnamese glyph for it (chromium itself depends on no font).
PACKAGES=(maven postgresql kcat prometheus prometheus-alertmanager docker-compose chromium fonts-dejavu-core)
# command that proves each package is there, in the same order
PROBES=(mvn /usr/lib/postgresql/*/bin/initdb kcat prometheus prometheus-alertmanager docker-compose /usr/bin/chromium
  /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf)

missing=()
for i in "${!PACKAGES[@]}"; do
  probe=${PROBES[$i]}
  if [[ $probe == /* ]]; then compgen -G "$probe" >/dev/null || missing+=("${PACKAGES[$i]}")
  else command -v "$probe" >/dev/null || missing+=("${PACKAGES[$i]}"); fi
done
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)

if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts a default cluster and an Alertmanager/Prometheus on install; we run our own.
    for svc in postgresql prometheus prometheus-alertmanager; do
      (command -v service >/dev/null && service "$svc" stop >/dev/null 2>&1) || true
    done
  else
    echo "bootstrap: missing system packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.civicpulse-installed
if [[ ! -f $stamp || pyproject.toml -nt $stamp ]]; then
  echo "bootstrap: installing Python packages"
  if ! { .venv/bin/pip install -q --upgrade pip && .venv/bin/pip install -q -e ".[dev]"; } >.venv/pip.log 2>&1; then
    cat .venv/pip.log >&2
    exit 1
  fi
  touch "$stamp"
fi

.venv/bin/python - <<'PY'
from pathlib import Path
from shared.devstack.kafka import REPO_ROOT, kafka_classpath
print("bootstrap: kafka classpath", kafka_classpath(cache_dir=REPO_ROOT / ".civicpulse" / "kafka-jars"))
PY

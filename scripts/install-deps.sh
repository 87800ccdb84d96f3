#!/usr/bin/env bash
# Installs everything Switchyard needs to build, test and benchmark on
# Debian 12, from Debian packages and (for the Node test clients) npm.
# Idempotent: packages already present are skipped quickly.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev   # Asio/Beast HTTP, JSON, URL parsing
  libyaml-cpp-dev                                               # LiteLLM YAML config
  libssl-dev ca-certificates                                    # TLS to upstreams, SHA-256
  libgtest-dev libbenchmark-dev                                 # unit tests, micro-benchmarks
  libsqlite3-dev                                                # embedded key/spend store (default)
  libjemalloc-dev                                               # allocator for the gateway binary
  libpq-dev                                                     # PostgreSQL key/spend store
  postgresql-15                                                 # real PostgreSQL for the store tests (initdb/pg_ctl)
  redis-server                                                  # real Redis 7 for the rate-limit/cache tests
  nodejs npm                                                    # integration tests with the official SDKs
  curl openssl                                                  # openssl CLI: TLS test certificates
  awscli                                                        # uploads objects to the S3 test server (config sync tests)
)
if [ "${SWITCHYARD_BENCH_DEPS:-0}" = "1" ]; then
  packages+=(wrk nginx-light)                                   # bench/run.sh
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere (e.g. NodeSource) with npm bundled.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
# The AWS CLI may come from pip/pyenv instead.
if command -v aws >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == awscli ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

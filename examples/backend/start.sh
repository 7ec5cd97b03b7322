#!/usr/bin/env bash
# Starts the example backend on http://localhost:7007 (installing it first if needed).
#   bash examples/backend/start.sh              SQLite in memory
#   bash examples/backend/start.sh --postgres   PostgreSQL from POSTGRES_HOST/PORT/USER/PASSWORD
# Other arguments go to the backend, e.g. --config my-overrides.yaml (later files win).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/install.sh"
cd "$here"
export SVCGEN_API_TOKEN="${SVCGEN_API_TOKEN:-svcgen-local-dev-token}"
# A placeholder keeps dry-runs of the template working without GitHub access (see app-config.yaml).
export GITHUB_TOKEN="${GITHUB_TOKEN:-placeholder-no-github-access}"
args=(--config app-config.yaml)
if [[ "${1:-}" == "--postgres" ]]; then
  shift
  args+=(--config app-config.postgres.yaml)
  export POSTGRES_HOST="${POSTGRES_HOST:-127.0.0.1}" POSTGRES_PORT="${POSTGRES_PORT:-5432}"
  export POSTGRES_USER="${POSTGRES_USER:-postgres}" POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-postgres}"
fi
echo "start.sh: starting on http://localhost:7007; API token (\$SVCGEN_API_TOKEN): $SVCGEN_API_TOKEN"
exec node src/index.js "${args[@]}" "$@"

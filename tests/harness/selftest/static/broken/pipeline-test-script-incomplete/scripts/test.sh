#!/bin/sh
# The README's test commands, as CI runs them; the unit tests are missing.
set -eu
cd "$(dirname "$0")/.."
./scripts/check.sh

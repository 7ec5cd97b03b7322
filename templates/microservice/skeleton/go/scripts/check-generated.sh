#!/bin/sh
# Fails when internal/gen/ is not what `buf generate` makes of proto/ (after a change to the .proto,
# run `buf generate` and commit the result). Needs the buf CLI on PATH; the plugins come from go.mod.
set -eu
cd "$(dirname "$0")/.."
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
buf generate --output "$fresh"
if ! diff -r "$fresh/internal/gen" internal/gen; then
    echo "internal/gen/ is stale: run \`buf generate\` and commit the result" >&2
    exit 1
fi
echo "internal/gen/ is current"

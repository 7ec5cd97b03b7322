#!/bin/sh
# Prints the files of the repository.
set -eu
cd "$(dirname "$0")/.."
for f in *; do
  echo "$f"
done

#!/bin/sh
# Prints the files of the repository.
set -eu
cd $(dirname $0)/..
for f in $(ls); do
  echo $f
done

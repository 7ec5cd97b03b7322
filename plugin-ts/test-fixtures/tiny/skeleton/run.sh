#!/bin/sh
# copied verbatim: {{ not rendered }}
echo "hello"

#!/usr/bin/env bash
# Placeholder until the CLI verbs land.
echo "demo: $1"

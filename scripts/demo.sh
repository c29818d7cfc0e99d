#!/usr/bin/env bash
# The README's first command: install, build, and start relayd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/pnpm install --frozen-lockfile --reporter=append-only
./scripts/pnpm run build
./bin/relayd --help
./bin/relayd build-info

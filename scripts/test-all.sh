#!/usr/bin/env bash
# The README's test command: install everything the tests need, then
# typecheck, lint and run every test (unit, integration, real-peer interop).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-system-deps.sh
./scripts/pnpm install --frozen-lockfile --reporter=append-only
echo "== typecheck and build"
./scripts/pnpm run build
echo "== lint"
./scripts/pnpm run lint
echo "== tests"
node scripts/run-tests.mjs "$@"

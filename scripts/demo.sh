#!/usr/bin/env bash
# The README's first command: install what the demo needs (Debian's tor for
# the private network), build relayd, then run the demo: a private Tor
# network on loopback, relayd as its bridge, a real tor client downloading
# through it. relayd and the network keep running until Ctrl-C.
# Arguments go to the demo (--once: stop after the download; --keep; --size MiB).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-system-deps.sh
./scripts/pnpm install --frozen-lockfile --reporter=append-only
./scripts/pnpm run build
exec node packages/testnet/dist/src/demo.js "$@"

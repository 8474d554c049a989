#!/usr/bin/env bash
# The browser tests of Steward's web pages (tests/web/pages.test.mjs): installs the pinned
# playwright-core and axe-core from npm (package-lock.json) and runs them against
# `steward serve --demo` in Debian's Chromium. Needs /usr/bin/chromium (apt-get install
# chromium) and a built steward binary (cargo build -p steward-server, or STEWARD_BIN).
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
node --test --test-concurrency=1 pages.test.mjs

#!/bin/sh
# The test run behind `npm test`: type check, then every test (unit tests
# beside the code, live BPF and end-to-end tests under test/).
set -eu
cd "$(dirname "$0")/.."
# Node 24 from node_modules first, whoever calls this script.
export PATH="$PWD/node_modules/.bin:$PATH"
node_modules/.bin/tsc --noEmit -p .
exec node_modules/.bin/vitest run "$@"

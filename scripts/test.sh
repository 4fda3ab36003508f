#!/bin/sh
# The test run behind `npm test`: type check, then every test (unit tests
# beside the code, live BPF and end-to-end tests under test/), then one
# plain closing line: "N passed, N failed, N skipped".
set -eu
cd "$(dirname "$0")/.."
# Node 24 from node_modules first, whoever calls this script.
export PATH="$PWD/node_modules/.bin:$PATH"
tsc --noEmit -p .
mkdir -p build
results=build/test-results.json
rm -f "$results"
status=0
vitest run --reporter=default --reporter=json --outputFile="$results" "$@" || status=$?
if [ -f "$results" ]; then
	node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' "$results"
fi
exit $status

#!/usr/bin/env bash
# Refresh the vendored front-end files from the npm registry at the versions
# package.json pins. The copies are committed, so serving the site and running
# the tests never need npm or the network. Run: scripts/vendor.sh (or npm run vendor).
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

pinned() {
  node -p "const p = require('./package.json'); (p.dependencies || {})['$1'] || p.devDependencies['$1']"
}

unpack() {
  mkdir -p "$work/$1"
  (cd "$work/$1" && npm pack --silent "$1@$2" >/dev/null && tar xzf ./*.tgz)
}

htmx=$(pinned htmx.org)
unpack htmx.org "$htmx"
cp "$work/htmx.org/package/dist/htmx.min.js" "static/vendor/htmx-$htmx.min.js"
echo "static/vendor/htmx-$htmx.min.js"

# axe-core is for the browser tests only: the site never serves it.
axe=$(pinned axe-core)
unpack axe-core "$axe"
mkdir -p tests/browser/vendor
cp "$work/axe-core/package/axe.min.js" tests/browser/vendor/axe.min.js
echo "tests/browser/vendor/axe.min.js (axe-core $axe)"

#!/usr/bin/env bash
# Refresh static/vendor from the npm registry at the versions package.json pins.
# The copies are committed, so serving the site never needs npm or the network.
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

version=$(node -p 'require("./package.json").dependencies["htmx.org"]')
(cd "$work" && npm pack --silent "htmx.org@$version" >/dev/null && tar xzf htmx.org-*.tgz)
cp "$work/package/dist/htmx.min.js" "static/vendor/htmx-$version.min.js"
echo "static/vendor/htmx-$version.min.js"

#!/usr/bin/env bash
# Install the admin page's front-end libraries from the npm registry (exact versions: package-lock.json)
# and copy their built files into bot/web/static/vendor/, which Deskmate serves. Run it after changing
# a version in package.json; commit package.json, package-lock.json and the copied files together.
set -euo pipefail
cd "$(dirname "$0")"
npm install --no-audit --no-fund
cp node_modules/chart.js/dist/chart.umd.min.js ../static/vendor/chart.umd.min.js
cp node_modules/chart.js/LICENSE.md ../static/vendor/chart.js.LICENSE.md
echo "copied chart.js $(node -p "require('./node_modules/chart.js/package.json').version") into bot/web/static/vendor/"

#!/usr/bin/env bash
# Build the in-browser page into web/dist/ (or --out DIR): onnxruntime-web from the npm registry at the version
# pinned in package-lock.json, the page, and the bundled ONNX models. Arguments go to build.mjs (see its header).
# Needs Node.js and npm; nothing is fetched from a CDN, at build time or by the page.
set -euo pipefail
cd "$(dirname "$0")"

# `npm ci` installs exactly package-lock.json; skipped when node_modules already matches it.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
fi
node build.mjs "$@"

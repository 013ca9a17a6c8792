#!/usr/bin/env bash
# Sets everything up from a clean clone: installs the pinned pnpm's workspace, checks generated code, builds.
# Needs only Node 20 and npm (pnpm itself comes through npx at the version pinned in package.json).
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm_version=$(node -p 'require("./package.json").packageManager.split("@")[1]')
pnpm() { npx -y "pnpm@${pnpm_version}" "$@"; }
if [ -f pnpm-lock.yaml ]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --reporter=append-only
fi
node tools/protogen/generate.mjs --check
node node_modules/typescript/bin/tsc -b

#!/usr/bin/env bash
# Allure 3 (npm `allure`, no Java) for `opscheck report allure --allure /opt/allure3/node_modules/.bin/allure`
# and its test (issue 19). Installed under its own prefix: its `allure` binary would otherwise
# replace Allure 2's (allure-commandline) on PATH. Idempotent.
set -euo pipefail
PREFIX=/opt/allure3
[ -x "$PREFIX/node_modules/.bin/allure" ] && exit 0
command -v npm >/dev/null || apt-get install -y -qq --no-install-recommends npm >/dev/null
mkdir -p "$PREFIX"
npm install --prefix "$PREFIX" --no-fund --no-audit allure@3 >/dev/null
"$PREFIX/node_modules/.bin/allure" --version

#!/usr/bin/env bash
# The Allure CLI for `opscheck report allure` and its test (issue 7), from npm; it runs on Java.
# Idempotent: does nothing when `allure` is already on PATH.
set -euo pipefail
command -v allure >/dev/null && exit 0
command -v java >/dev/null || { echo "setup.d/allure: java is missing (openjdk-17-jre-headless, .ci/apt/reports.txt)" >&2; exit 1; }
if ! command -v npm >/dev/null; then
  # Debian's nodejs ships npm separately; NodeSource's includes it.
  apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
npm install -g --no-fund --no-audit allure-commandline >/dev/null
allure --version

#!/usr/bin/env bash
# Installs what the tests need beyond Go, only when missing: every machine starts bare.
# Under CI (CI set) a failed install fails the run. Elsewhere (say, offline) it warns and
# goes on: the tests that need a missing package skip, as they do without ../shared.
set -uo pipefail
fail() {
  if [ -n "${CI:-}" ]; then echo "test-deps: $*" >&2; exit 1; fi
  echo "test-deps: warning: $* (tests that need it will skip)" >&2
}
need=()
/usr/bin/python3 -c 'import sentencepiece' 2>/dev/null || need+=(python3-sentencepiece)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  echo "test-deps: installing ${need[*]}" >&2
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null; } ||
    fail "could not install ${need[*]}"
fi
bash "$(dirname "$0")/browser-deps.sh" || fail "could not install the browser test's chromium/playwright-core"
exit 0

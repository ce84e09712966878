#!/usr/bin/env bash
# Installs what the web page's browser test needs, only when missing:
# Debian's chromium and the playwright-core npm package (no bundled browser).
# playwright-core goes to BAYLING_BROWSER_DEPS (default ~/.cache/bayling/browser),
# outside the repository; the test finds it there.
set -euo pipefail
dir="${BAYLING_BROWSER_DEPS:-$HOME/.cache/bayling/browser}"
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
if [ ! -x /usr/bin/chromium ]; then
  echo "browser-deps: installing chromium" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# A CJK font, so the page's Chinese text shows in screenshots.
if ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  echo "browser-deps: installing fonts-wqy-microhei" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fonts-wqy-microhei >/dev/null
fi
if ! command -v npm >/dev/null; then
  echo "browser-deps: installing nodejs and npm" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
  echo "browser-deps: installing playwright-core into $dir" >&2
  mkdir -p "$dir"
  # Never download Playwright's own browsers: the test drives Debian's chromium.
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$dir" --no-save --no-audit --no-fund playwright-core@1 >/dev/null
fi

#!/usr/bin/env bash
# Installs what the web page's browser test needs: headless Chromium and its WebDriver, from
# Debian's `chromium` and `chromium-driver` packages. Does nothing when both are on the PATH.
# Needs root (or sudo) to install. Usage: scripts/install-browser.sh
set -euo pipefail
if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then
    echo "install-browser: $(chromium --version 2>/dev/null | head -1) and chromedriver present"
    exit 0
fi
sudo=""
if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || {
        echo "install-browser: ERROR: chromium and chromium-driver are missing and this is not root;" \
             "install them (apt-get install chromium chromium-driver) or run as root" >&2
        exit 1
    }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
echo "install-browser: installed $(chromium --version 2>/dev/null | head -1)"

#!/usr/bin/env bash
# Installs what the product and its tests need on a Debian machine: the Python packages
# (pinned in requirements.txt) and, where apt is available, the system tools for OCR,
# legacy Office formats and browser tests. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa tesseract-ocr-ita tesseract-ocr-por
                 tesseract-ocr-fra tesseract-ocr-deu tesseract-ocr-pol
                 libreoffice-impress-nogui libreoffice-writer-nogui libreoffice-calc-nogui chromium)
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    missing=()
    for package in "${SYSTEM_PACKAGES[@]}"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "installing system packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
else
    echo "note: not root or no apt-get; OCR, legacy Office formats and browser tests need: ${SYSTEM_PACKAGES[*]}"
fi
python3 -m pip install --quiet --disable-pip-version-check -r requirements.txt
# The accessibility audit of the browser tests (axe-core, injected into Chromium by playwright):
# one JavaScript file from the npm registry, kept in .node/ (not in git); nothing at test time.
AXE_VERSION=4.14.1
if [ -f .node/node_modules/axe-core/package.json ] && grep -q "\"version\": \"$AXE_VERSION\"" .node/node_modules/axe-core/package.json; then
    :
elif command -v npm >/dev/null 2>&1; then
    npm install --prefix .node --no-save --no-package-lock --no-audit --no-fund --silent "axe-core@$AXE_VERSION"
else
    echo "note: npm is missing; the browser tests' accessibility audit needs it (apt-get install npm)"
fi

"""Headless Chromium for the dashboard test: Debian's chromium driven by Playwright (never `playwright install`).

When /usr/bin/chromium (or a CJK font for the Chinese labels) is missing and we are root, both are
installed with apt-get (chromium, chromium-driver, fonts-wqy-microhei). Without Chromium the
browser test fails in CI (CI=true) and is skipped locally, saying why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def have_cjk_font() -> bool:
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout \
        if shutil.which("fc-list") else ""
    return bool(fonts.strip())


def ensure_chromium() -> str:
    if CHROMIUM.exists() and have_cjk_font():
        return str(CHROMIUM)
    problem = ""
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "chromium", "chromium-driver", "fonts-wqy-microhei"]
        for argv in (["apt-get", "update"], install):
            done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900, check=False)
            if done.returncode != 0:
                problem = f"{' '.join(argv)} failed: {done.stderr[-500:]}"
                break
        if CHROMIUM.exists():
            return str(CHROMIUM)
    elif CHROMIUM.exists():
        return str(CHROMIUM)  # Chinese labels may show as boxes in the screenshots; the figures are still checked
    else:
        problem = "not root or no apt-get: cannot install Debian's chromium"
    message = f"headless Chromium unavailable ({problem or 'installed, but /usr/bin/chromium is missing'})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)

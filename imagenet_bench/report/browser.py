"""Open a report in headless Chromium (Selenium): for the browser test, the benchmark and the screenshot.

Debian's ``chromium`` and ``chromium-driver`` are used as installed
(``/usr/bin/chromium``, ``/usr/bin/chromedriver``, given explicitly: Selenium
never downloads a driver). The network is switched off in the browser before
the page loads, so a report that needed anything from outside would fail.
Selenium comes with the ``[test]`` extra; it is imported only here.
"""
from __future__ import annotations

import os
import shutil
import time
from typing import Dict, Optional, Tuple

from imagenet_bench.errors import BenchError

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing() -> Optional[str]:
    """Why a headless browser cannot be started here (None when it can)."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(os.path.basename(path))):
            return f"{path} not found (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install 'imagenet_bench[test]')"
    return None


def chromium(width: int = 1400, height: int = 1000):
    """A headless Chromium WebDriver with its console log kept and the network off."""
    why = missing()
    if why:
        raise BenchError(f"no headless browser: {why}. Fix: install Chromium and its driver "
                         f"(e.g. apt-get install chromium chromium-driver) and selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars"):
        options.add_argument(arg)
    options.binary_location = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0})
    return driver


def open_report(driver, path: str, timeout: float = 60.0) -> Tuple[float, Dict]:
    """Load ``path`` (file://) and wait until every plot is drawn.

    Returns ``(seconds from navigation start to the first render, timings)``: the
    first render is the table and every plot in the window drawn (the page draws
    the plots below the window one by one after it); ``timings`` (seconds since
    navigation start, as the page measured them): ``script_started``,
    ``table_rendered``, ``first_render``, ``all_plots_drawn``. Raises
    :class:`BenchError` if the page reports a drawing error or does not finish
    within ``timeout`` seconds.
    """
    driver.get("file://" + os.path.abspath(path))
    end = time.time() + timeout
    while time.time() < end:
        state = driver.execute_script(
            "return [document.body && document.body.getAttribute('data-rendered'),"
            " document.body && document.body.getAttribute('data-render-error')]")
        if state[1]:
            raise BenchError(f"{path}: the page failed to draw its plots: {state[1]}. Fix: "
                             f"rebuild it with `imagenet-bench report`; if it fails again, "
                             f"report it as a bug")
        if state[0]:
            marks = driver.execute_script(
                "var b = document.body; return ['data-script-started', 'data-table-rendered', "
                "'data-first-render', 'data-rendered'].map(a => parseFloat(b.getAttribute(a)))")
            timing = dict(zip(("script_started", "table_rendered", "first_render",
                               "all_plots_drawn"), (m / 1000.0 for m in marks)))
            return timing["first_render"], timing
        time.sleep(0.05)
    raise BenchError(f"{path}: plots not drawn within {timeout:.0f} s. Fix: open it in a "
                     f"browser to see why; rebuild it with `imagenet-bench report`")

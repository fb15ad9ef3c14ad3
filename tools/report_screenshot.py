"""Screenshot of an HTML report in headless Chromium (the README's docs/report.png).

    imagenet-bench report -o report.html
    python tools/report_screenshot.py report.html docs/report.png [--width 1400 --height 1700]

Waits until every plot is drawn, then saves the window as PNG, reduced to a
256-colour palette with Pillow when it is installed (a small file to commit).
"""
from __future__ import annotations

import argparse
import io
import os

from imagenet_bench.cache import atomic
from imagenet_bench.report import browser


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report")
    ap.add_argument("png")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1700)
    args = ap.parse_args()
    driver = browser.chromium(args.width, args.height)
    try:
        browser.open_report(driver, args.report)
        data = driver.get_screenshot_as_png()
    finally:
        driver.quit()
    try:
        from PIL import Image
        img = Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        data = buf.getvalue()
    except ImportError:
        pass
    atomic.write_bytes(args.png, data)
    print(f"wrote {args.png} ({os.path.getsize(args.png) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()

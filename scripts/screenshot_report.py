"""A PNG screenshot of the HTML report of a network, taken in Debian's headless Chromium.

    python scripts/screenshot_report.py                      # examples/resnet50.yaml
    python scripts/screenshot_report.py examples/unet_small.yaml -o unet.png --height 3000

Writes the report (`convcalc net SPEC --format html`), opens it offline in Chromium through the
DevTools protocol (tests/browser.py), waits for the charts, and saves the top of the page
(header, table, charts): docs/report-resnet50.png is made this way. Needs `apt-get install
chromium`, `pip install websockets 'convcalc[html]'`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser, available  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "examples" / "resnet50.yaml"))
    parser.add_argument("-o", "--output", default=str(ROOT / "docs" / "report-resnet50.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400, help="how much of the page, in CSS "
                                                                 "pixels (0: all of it)")
    parser.add_argument("--args", default="", help="more `convcalc net` options, e.g. "
                                                   "'--depth 2'")
    args = parser.parse_args()
    why = available()
    if why:
        raise SystemExit(f"cannot take a screenshot: {why}")
    from typer.testing import CliRunner

    from convcalc.cli import app

    result = CliRunner().invoke(app, ["net", args.spec, "--format", "html", *args.args.split()])
    if result.exit_code:
        raise SystemExit(result.output)
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(result.stdout, encoding="utf-8")
        with Browser(args.width, 900) as browser:
            page = browser.open(page_file)
            page.wait_for('document.body.getAttribute("data-charts") === "drawn"')
            if page.console_errors or page.requests != [page_file.resolve().as_uri()]:
                raise SystemExit(f"the page is not clean: {page.console_errors} {page.requests}")
            full = page.send("Page.getLayoutMetrics")["cssContentSize"]
            height = full["height"] if args.height == 0 else min(args.height, full["height"])
            png = page.screenshot({"x": 0, "y": 0, "width": args.width, "height": height})
    Path(args.output).write_bytes(png)
    print(f"wrote {args.output} ({len(png):,} bytes, {args.width}×{int(height)})")


if __name__ == "__main__":
    main()

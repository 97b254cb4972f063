"""Screenshot of a command's terminal output, for the README (e.g. a health table).

Runs the command with colours forced, turns its ANSI output into HTML with Rich (inline styles, no
web fonts), and has headless Chromium (Debian's, via Playwright) take a PNG of it.

    python tools/docs/term_shot.py OUT.png [--cwd DIR] [--width 100] -- COMMAND...
"""
from __future__ import annotations

import argparse, os, subprocess, sys, tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))


def ansi_html(ansi: str, width: int) -> str:
    from rich.console import Console
    from rich.text import Text
    con = Console(record=True, width=width, file=open(os.devnull, "w"), color_system="truecolor")
    con.print(Text.from_ansi(ansi))
    html = con.export_html(inline_styles=True, code_format="<pre class='t'>{code}</pre>")
    style = ("body{margin:0;background:#f6f8fa;color:#1f2328} pre.t{margin:0;padding:14px 18px;display:inline-block;"
             "font:14px/1.17 'DejaVu Sans Mono',monospace}")
    return f"<!doctype html><meta charset='utf-8'><style>{style}</style><body>{html}"


def shot(html: str, out: Path):
    from _browser import PageLog, browser, watched_page
    with tempfile.TemporaryDirectory() as tmp, browser() as b:
        page_file = Path(tmp) / "t.html"
        page_file.write_text(html)
        log = PageLog()
        page = watched_page(b.new_context(device_scale_factor=1), log)
        page.goto(page_file.as_uri())
        page.locator("pre.t").screenshot(path=out)
        assert not log.outside, log.outside


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--cwd", default=".")
    ap.add_argument("--width", type=int, default=100)
    argv = sys.argv[1:]
    if "--" not in argv: ap.error("give the command after --")
    a, cmd = ap.parse_args(argv[:argv.index("--")]), argv[argv.index("--") + 1:]
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": str(a.width), "TERM": "xterm-256color"}
    r = subprocess.run(cmd, cwd=a.cwd, env=env, capture_output=True, text=True)
    shot(ansi_html(r.stdout + r.stderr, a.width), a.out)
    print(f"{a.out} (exit {r.returncode} of {' '.join(cmd)})")


if __name__ == "__main__":
    main()

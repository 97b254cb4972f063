"""Write README.md from nbs/index.ipynb (nbdev's own README step needs Quarto, which these machines cannot install).

Markdown cells are copied; code cells become python blocks followed by their text output; cells
marked `#| hide` are left out. `--check` exits 1 when README.md is out of date.
"""
import json, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cell_text(cell) -> str:
    src = "".join(cell["source"])
    if cell["cell_type"] == "markdown": return src.strip()
    lines = src.splitlines()
    if any(l.strip() in ("#| hide", "#|hide") for l in lines): return ""
    code = "\n".join(l for l in lines if not l.startswith("#|")).strip()
    if not code: return ""
    out = [f"```python\n{code}\n```"]
    for o in cell.get("outputs", []):
        text = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", ""))
        if text.strip(): out.append(f"```\n{text.rstrip()}\n```")
    return "\n\n".join(out)


def readme() -> str:
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text())
    parts = [t for c in nb["cells"] if (t := cell_text(c))]
    return "<!-- Generated from nbs/index.ipynb by tools/readme.py: edit the notebook, not this file. -->\n\n" + "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    text, path = readme(), ROOT / "README.md"
    if "--check" in sys.argv:
        if not path.exists() or path.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python tools/readme.py`")
    else:
        path.write_text(text)

"""MkDocs hook: the navigation follows the notebooks' order (tools/docs/build.py writes it to
`<docs_dir>/.nav.json`; MkDocs skips dot files), not the alphabetical order of the page names."""
import json
from pathlib import Path


def on_config(config):
    nav = Path(config["docs_dir"]) / ".nav.json"
    if nav.exists(): config["nav"] = json.loads(nav.read_text())
    return config

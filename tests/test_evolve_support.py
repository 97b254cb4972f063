"""Helpers for the evolve tests (no tests here): projects made the way `init` makes them, a
controllable "template side", and snapshots of everything a change could touch."""
import os, subprocess, sys
from pathlib import Path

from aegis.render import ANSWERS_FILE, File, render
from aegis.specs import parse_selection, pulled_in
from aegis.project import write_tree, write_env
from aegis.evolve import answers_file, record_init
from aegis.gitstore import locate

IDENT = ["-c", "user.name=tester", "-c", "user.email=tester@example.com"]


def answers_for(sel: str = "", name: str = "shop") -> dict:
    return {"name": name, "python_version": "3.11", "components": parse_selection(sel, available_only=False)[0]}


def make_project(parent, sel: str = "", name: str = "shop", git: bool = True, renderer=None, folder: str = "shop") -> Path:
    """What `aegis.project.init` does, without its availability check (components whose templates
    land later are selectable here): render, write, `.env`, git init + first commit, record."""
    root = Path(parent) / folder
    root.mkdir(parents=True)
    answers = answers_for(sel, name)
    tree = (renderer or render)(answers)
    if pulled := pulled_in(sel, answers["components"]):                # as init records them
        tree[ANSWERS_FILE] = File(answers_file(answers, pulled))
    write_tree(root, tree)
    write_env(root, answers, 8000)
    if git: git_init(root)
    record_init(root, tree)
    return root


def git_init(root):
    # like aegis.project.git_init, but `git add -A -- . ':!.env'` fails once .gitignore lists .env (git 2.39)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "rm", "-q", "--cached", "--ignore-unmatch", ".env"], cwd=root, check=True)
    subprocess.run(["git", *IDENT, "commit", "-q", "--no-verify", "-m", "Generate with aegis"], cwd=root, check=True)


class Side:
    """The template side: the real render plus extra files we control, standing in for what a
    new aegis version renders (`side.files[...] = ...` between init and `update`)."""
    def __init__(self, files=None): self.files = dict(files or {})

    def __call__(self, answers):
        tree = dict(render(answers))
        for p, v in self.files.items():
            data, mode = (v, 0o644) if isinstance(v, bytes) else v
            tree[p] = File(data, mode)
        return dict(sorted(tree.items()))


def git(root, *args, check=True, input=None):
    return subprocess.run(["git", *IDENT, *args], cwd=root, capture_output=True, check=check, input=input)


def commit(root, msg="user edit"):
    git(root, "add", "-A", "--", ".")
    git(root, "rm", "-q", "--cached", "--ignore-unmatch", "--", ".env")   # never committed, ignored or not
    git(root, "commit", "-qm", msg, "--no-verify")


def files(root) -> dict:
    "Every file under `root` (but .git and aegis' private store) as path -> (bytes, mode)."
    out = {}
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".aegis")]
        for f in filenames:
            p = Path(dirpath) / f
            out[p.relative_to(root).as_posix()] = (p.read_bytes(), p.stat().st_mode & 0o777)
    return out


def dirs(root) -> set:
    out = set()
    for dirpath, dirnames, _ in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in (".git", ".aegis")]
        out |= {(Path(dirpath) / d).relative_to(root).as_posix() for d in dirnames}
    return out


def state(root) -> dict:
    "Files, folders, mtimes, the git index, HEAD and aegis' refs: everything a change may touch."
    root = Path(root)
    st = {"files": files(root), "dirs": dirs(root),
          "mtimes": {p: (root / p).stat().st_mtime_ns for p in files(root)}}
    place = locate(root)
    if place.has_repo:
        st["index"] = git(root, "ls-files", "-s").stdout
        st["head"] = git(root, "rev-parse", "HEAD", check=False).stdout
        st["status"] = git(root, "status", "--porcelain", "--untracked-files=all").stdout
    st["refs"] = subprocess.run(["git", "for-each-ref", "refs/aegis"], capture_output=True,
                                cwd=root, env={**os.environ, **({} if place.has_repo else {"GIT_DIR": str(place.git_dir)})}).stdout
    st["record"] = (place.state / "change.json").exists()
    return st


def unmerged(root) -> dict:
    "path -> sorted stages of the unmerged entries in the git index."
    out = {}
    for line in git(root, "ls-files", "-u", "-z").stdout.split(b"\0"):
        if not line: continue
        meta, path = line.split(b"\t", 1)
        out.setdefault(path.decode(), []).append(int(meta.split()[2]))
    return {p: sorted(s) for p, s in out.items()}


CLI = ("import sys, typer; from aegis.evolve import register_cli; app = typer.Typer(); register_cli(app); "
       "app(args=sys.argv[1:], prog_name='aegis')")


def cli(*args, cwd=None):
    "The evolve commands as a user runs them, in a fresh process."
    return subprocess.run([sys.executable, "-c", CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def status(root) -> bytes:
    "`git status --porcelain` of the project folder, .env aside (no template ignores it yet)."
    return git(root, "status", "--porcelain", "--untracked-files=all", "--", ".", ":(exclude).env").stdout

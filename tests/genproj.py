"""Generated projects for aegis' own tests: generate, install into a cached environment, run their checks.

Installing a generated project is the slow part, so the dependencies go into a virtual environment
cached by the hash of the dependency set (plus Python version and resolution strategy), built once
with `uv` and its package cache. Each project then gets a tiny environment of its own that sees
the cached one through a `.pth` file and holds only the project itself (editable), so tests can
run in parallel and leave nothing behind in the shared environment.

Use from any component's tests:

    from genproj import check_project
    @pytest.mark.slow
    def test_worker_project(tmp_path):
        check_project("worker[arq]", tmp_path).assert_ok()
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

CACHE = Path(os.environ.get("AEGIS_TEST_VENVS", Path.home() / ".cache" / "aegis" / "test-venvs"))
RESOLUTIONS = ("highest", "lowest-direct")


def _uv() -> str:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).exists() and not shutil.which(uv):
        raise RuntimeError("uv is needed to install generated projects: pip install uv")
    return uv


def answers_for(selection: str = "", name: str = "Gen Proj", python_version: str = "3.11") -> dict:
    from aegis.specs import parse_selection
    sel, _ = parse_selection(selection)
    return {"name": name, "python_version": python_version, "components": sel}


def generate(selection: str, parent: Path, name: str = "Gen Proj", python_version: str = "3.11") -> Path:
    """Generate the project for `selection` under `parent` (in `parent/<slug>`) and return its folder.
    With `aegis.project.init` available this is `init` without git; until then the rendered tree is
    written directly, with a `.env` like `init` writes."""
    from aegis.names import project_name
    parent = Path(parent)
    dest = parent / project_name(name).slug
    try:
        from aegis.project import init
    except ImportError:
        init = None
    if init is not None:
        init(name, components=selection, output_dir=parent, python_version=python_version, git=False)
        return dest
    from aegis.render import env_text, env_values, render
    answers = answers_for(selection, name, python_version)
    for rel, f in render(answers).items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(f.data)
        os.chmod(path, f.mode)
    env = dest / ".env"
    env.write_text(env_text(env_values(answers)))
    env.chmod(0o600)
    return dest


def requirements(project: Path) -> tuple[list[str], list[str]]:
    "The dependencies and development dependencies declared in a generated project's pyproject.toml."
    data = tomllib.loads((Path(project) / "pyproject.toml").read_text())
    proj = data["project"]
    return list(proj.get("dependencies", [])), list(proj.get("optional-dependencies", {}).get("dev", []))


def requires_python(project: Path) -> str:
    data = tomllib.loads((Path(project) / "pyproject.toml").read_text())
    return data["project"]["requires-python"].removeprefix(">=")


def env_key(deps: list[str], dev: list[str], python: str, resolution: str) -> str:
    blob = json.dumps({"deps": sorted(deps), "dev": sorted(dev), "python": python, "resolution": resolution})
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if p.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def find_python(version: str) -> str:
    """A local interpreter for `version` (PATH, pyenv, the system), else `version` itself (uv may then
    download one, which machines without internet cannot)."""
    import glob
    cands = [shutil.which(f"python{version}"), *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}"))),
             f"/usr/bin/python{version}", f"/usr/local/bin/python{version}"]
    for c in filter(None, cands):
        try:
            out = subprocess.run([c, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True,
                                 text=True, timeout=30, check=False).stdout.strip()
        except OSError:
            continue
        if out == version:
            return c
    return version


def cached_env(project: Path, resolution: str = "highest") -> Path:
    """The cached environment holding `project`'s dependencies (created on first use, under a file lock)."""
    assert resolution in RESOLUTIONS, resolution
    deps, dev = requirements(project)
    python = requires_python(project)
    key = env_key(deps, dev, python, resolution)
    venv = CACHE / f"py{python}-{resolution}-{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (venv / ".complete").exists():
            shutil.rmtree(venv, ignore_errors=True)
            uv = _uv()
            _run([uv, "venv", "-q", "-p", find_python(python), str(venv)])
            _run([uv, "pip", "install", "-q", "-p", str(venv / "bin" / "python"), "--resolution", resolution,
                  *deps, *dev], timeout=1800)
            frozen = _run([uv, "pip", "freeze", "-p", str(venv / "bin" / "python")]).stdout
            (venv / "requirements.lock").write_text(frozen)
            (venv / ".complete").write_text(json.dumps({"deps": deps, "dev": dev, "resolution": resolution}))
    return venv


def project_env(project: Path, base: Path) -> Path:
    "A small environment for `project` alone (installed editable) layered on the cached `base`."
    venv = Path(project).parent / f".venv-{Path(project).name}"
    uv = _uv()
    _run([uv, "venv", "-q", "-p", str(base / "bin" / "python"), str(venv)])
    # addsitedir (not a bare path) so the .pth files of the cached environment are processed too
    (site_packages(venv) / "_aegis_cached_env.pth").write_text(f"import site; site.addsitedir({str(site_packages(base))!r})\n")
    _run([uv, "pip", "install", "-q", "--no-deps", "-p", str(venv / "bin" / "python"), "-e", str(project)], timeout=600)
    return venv


@dataclass
class ProjectCheck:
    "The outcome of checking a generated project: each step's command, exit code and output."
    project: Path
    venv: Path
    steps: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(p.returncode == 0 for p in self.steps.values())

    def assert_ok(self) -> ProjectCheck:
        bad = {k: p for k, p in self.steps.items() if p.returncode}
        assert not bad, "\n\n".join(f"== {k} (exit {p.returncode}) ==\n{p.stdout[-6000:]}\n{p.stderr[-3000:]}"
                                    for k, p in bad.items())
        return self


def project_run_env(venv: Path, base: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{base / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def check_project(selection: str, tmp_path: Path, resolution: str = "highest", name: str = "Gen Proj",
                  python_version: str = "3.11", test_args: str = "-q -p no:cacheprovider",
                  prepare: Callable[[Path], None] | None = None) -> ProjectCheck:
    """Generate `selection`, install it, run `ruff check` and the project's own `make test`.
    The tests get the `test_env` the components declared (e.g. the real Redis/PostgreSQL URLs).
    `prepare(project)` runs after generation (e.g. to add files a test needs)."""
    from aegis.render import context
    project = generate(selection, Path(tmp_path), name=name, python_version=python_version)
    if prepare:
        prepare(project)
    base = cached_env(project, resolution)
    venv = project_env(project, base)
    test_env = context(answers_for(selection, name, python_version))["slots"].test_env
    env = project_run_env(venv, base, {**test_env, "PYTEST_ADDOPTS": test_args})
    result = ProjectCheck(project, venv)
    # ruff is a static binary (found on PATH in the cached environment); `python -m pytest` runs with
    # the project's own interpreter, which sees the editable install
    for step, cmd in (("ruff", ["ruff", "check", "."]),
                      ("make test", ["make", "test", "RUN=python -m"])):
        result.steps[step] = _run_bounded(cmd, project, env, timeout=STEP_TIMEOUT)
    return result


STEP_TIMEOUT = 420  # a generated project's lint or tests take well under a minute; a hang must not eat CI


def _run_bounded(cmd, cwd, env, timeout):
    "Run `cmd`; on timeout kill its whole process group (make's pytest too) and report it as a failure."
    import os, signal
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        err += f"\n[aegis tests] {' '.join(cmd)} killed after {timeout} s (hung?)"
        return subprocess.CompletedProcess(cmd, -9, out, err)
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served(str):
    "The base URL of a served project; `.pid` is the server's process id."
    pid: int


@contextmanager
def serve(project: Path, venv: Path, base: Path, env: dict | None = None, port: int | None = None,
          args: tuple[str, ...] = ()):
    """Run the project's backend as users do (`<slug> serve`) on a free port; yields its base URL."""
    slug = tomllib.loads((Path(project) / "pyproject.toml").read_text())["project"]["name"]
    port = port or free_port()
    with open(Path(venv) / "serve.log", "w") as log:
        p = subprocess.Popen([str(Path(venv) / "bin" / slug), "serve", "--port", str(port), *args], cwd=project,
                             env=project_run_env(venv, base, env), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{slug} serve did not start:\n{(Path(venv) / 'serve.log').read_text()[-3000:]}") from None
                time.sleep(0.1)
        url = Served(f"http://127.0.0.1:{port}")
        url.pid = p.pid
        yield url
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()

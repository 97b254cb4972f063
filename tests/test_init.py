"`aegis init` as a process: all-or-nothing generation, refusals that change nothing, the answers file."
import os, signal, subprocess, sys, time, tomllib
import pytest
from conftest import run_aegis

BAD_NAMES = {"": "empty", "a/b": "path separator", "..": "path separator", "9lives": "digit", "import": "keyword",
             "typing": "shadow", "fastapi": "shadow", "aegis": "shadow", "dotenv": "shadow", "click": "shadow", "x" * 51: "51 characters", "数据": "ASCII"}


@pytest.mark.parametrize("name", list(BAD_NAMES))
def test_bad_names_one_line_exit_2_nothing_written(tmp_path, name):
    r = run_aegis("init", name, "-o", tmp_path, "--no-interactive", "--no-lock")
    assert r.returncode == 2, r
    assert len(r.stderr.strip().splitlines()) == 1 and BAD_NAMES[name] in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sel,why", [("databse", "unknown component"), ("database[mysql]", "choose from sqlite, postgres"),
                                     ("database[postgres],scheduler[sqlite]", "same engine"), ("worker[arq", "name[option]")])
def test_bad_selection(tmp_path, sel, why):
    from aegis.specs import registry
    if "scheduler" in sel and not registry()["scheduler"].available: pytest.skip("scheduler templates not available yet")
    r = run_aegis("init", "good-name", "-c", sel, "-o", tmp_path, "--no-interactive", "--no-lock")
    assert r.returncode == 2 and why in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_target_needs_force(tmp_path):
    (tmp_path / "my-api").mkdir()
    (tmp_path / "my-api" / "mine.txt").write_text("keep me")
    r = run_aegis("init", "my-api", "-o", tmp_path, "--no-interactive", "--no-lock")
    assert r.returncode == 2 and "--force" in r.stderr
    assert (tmp_path / "my-api" / "mine.txt").read_text() == "keep me"
    r = run_aegis("init", "my-api", "-o", tmp_path, "--no-interactive", "--no-lock", "--force")
    assert r.returncode == 0, r.stderr
    assert "replaced the existing folder" in r.stdout
    assert not (tmp_path / "my-api" / "mine.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-api"]


def test_answers_file_and_env(tmp_path):
    r = run_aegis("init", "Café Übersicht", "-o", tmp_path, "--no-interactive", "--no-lock", "--python-version", "3.12")
    assert r.returncode == 0, r.stderr
    root = tmp_path / "cafe-ubersicht"
    ans = tomllib.loads((root / ".aegis.toml").read_text())
    assert ans["name"] == "Café Übersicht" and ans["python_version"] == "3.12" and ans["components"] == []
    env = (root / ".env").read_text()
    assert (root / ".env").stat().st_mode & 0o777 == 0o600
    secret = [l.split("=", 1)[1] for l in env.splitlines() if l.startswith("SECRET_KEY=")][0]
    assert len(secret) >= 30 and secret not in (root / ".aegis.toml").read_text()
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True).stdout.split()
    assert ".env" not in tracked and ".aegis.toml" in tracked


def test_two_projects_get_different_web_ports(tmp_path):
    for n in ("one-api", "two-api"): assert run_aegis("init", n, "-o", tmp_path, "--no-interactive", "--no-lock").returncode == 0
    port = lambda n: [l for l in (tmp_path / n / ".env").read_text().splitlines() if l.startswith("WEB_PORT=")][0]
    assert port("one-api") != port("two-api")


@pytest.mark.parametrize("delay", [0.05, 0.15, 0.3, 0.5])
def test_killed_init_leaves_no_project_and_next_init_cleans_up(tmp_path, delay):
    "SIGKILL at some point of init: either the whole project is there, or none of it; a rerun succeeds and cleans temp folders."
    p = subprocess.Popen([sys.executable, "-m", "aegis.cli", "init", "kill-me", "-o", str(tmp_path), "--no-interactive",
                          "--no-lock"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    p.send_signal(signal.SIGKILL); p.wait()
    target = tmp_path / "kill-me"
    if target.exists():  # finished before the kill: it must be complete
        assert (target / ".aegis.toml").exists() and (target / ".git").exists()
        return
    r = run_aegis("init", "kill-me", "-o", tmp_path, "--no-interactive", "--no-lock")
    assert r.returncode == 0, r.stderr
    assert sorted(x.name for x in tmp_path.iterdir()) == ["kill-me"]


def test_ctrl_c_leaves_nothing(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "aegis.cli", "init", "int-me", "-o", str(tmp_path), "--no-interactive",
                          "--no-lock"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.25)
    p.send_signal(signal.SIGINT); p.wait()
    names = sorted(x.name for x in tmp_path.iterdir())
    assert names in ([], ["int-me"]), names


def test_lock_is_resolved_offline(tmp_path):
    "With uv installed, init resolves uv.lock from uv's cache only: a proxy that refuses everything changes nothing."
    import shutil
    if not shutil.which("uv"): pytest.skip("uv is not installed: init writes no lock")
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}
    r = subprocess.run([sys.executable, "-m", "aegis.cli", "init", "lock-me", "-o", str(tmp_path), "--no-interactive"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    lock = tmp_path / "lock-me" / "uv.lock"
    # a warm cache gives a lock; a cold one a note, never a wait on the network
    assert lock.is_file() or "no uv.lock yet" in r.stdout + r.stderr, (r.stdout, r.stderr)


def test_output_folder_that_cannot_be_one_is_one_line_exit_2(tmp_path):
    f = tmp_path / "afile"; f.write_text("x")
    for out in (f, f / "sub"):
        r = run_aegis("init", "x1", "-o", out, "--no-interactive", "--no-lock")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and str(out) in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"] and f.read_text() == "x"


def test_project_folder_has_the_usual_permissions(tmp_path):
    "mkdtemp makes private folders; the project folder follows the umask like any other."
    assert run_aegis("init", "perm-api", "-o", tmp_path, "--no-interactive", "--no-lock").returncode == 0
    mask = os.umask(0); os.umask(mask)
    assert (tmp_path / "perm-api").stat().st_mode & 0o777 == 0o777 & ~mask


@pytest.mark.parametrize("sel", ["scheduler[postgres],database", "database,scheduler[postgres]"])
def test_a_component_named_without_option_follows_what_requires_it(sel):
    "`database` alone is not a choice of SQLite: scheduler[postgres] picks the engine; an explicit one still clashes."
    from aegis.specs import parse_selection
    chosen, notes = parse_selection(sel)
    assert chosen["database"] == "postgres" and any("chose database[postgres]" in n for n in notes)
    with pytest.raises(Exception, match="same engine"):
        parse_selection("database[sqlite],scheduler[postgres]")


def _global_git_config(tmp_path, text: str) -> dict:
    cfg = tmp_path / "gitconfig"
    cfg.write_text("[user]\n\tname = t\n\temail = t@t\n" + text)
    return {"GIT_CONFIG_GLOBAL": str(cfg)}


def test_a_first_commit_git_cannot_sign_is_one_line_with_the_fix(tmp_path):
    env = _global_git_config(tmp_path, "[commit]\n\tgpgsign = true\n[gpg]\n\tprogram = false\n")
    r = run_aegis("init", "shop", "-o", tmp_path / "out", "--no-interactive", "--no-lock", env=env)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "gpg failed to sign" in r.stderr and "commit.gpgsign" in r.stderr, r.stderr
    assert "['" not in r.stderr and ".aegis-new" not in r.stderr, r.stderr    # a Python list, a temporary folder
    assert not (tmp_path / "out").exists()


def test_a_global_ignore_of_generated_paths_still_commits_the_whole_project(tmp_path):
    (tmp_path / "ignore").write_text("Makefile\n*.toml\ntests/\n")
    env = _global_git_config(tmp_path, f"[core]\n\texcludesFile = {tmp_path / 'ignore'}\n")
    assert run_aegis("init", "shop", "-o", tmp_path, "--no-interactive", "--no-lock", env=env).returncode == 0
    tracked = subprocess.run(["git", "ls-files"], cwd=tmp_path / "shop", capture_output=True, text=True).stdout.split()
    assert {"Makefile", "pyproject.toml", ".aegis.toml"} <= set(tracked) and any(t.startswith("tests/") for t in tracked)
    assert ".env" not in tracked


def test_a_component_pulled_in_at_init_is_recorded_as_add_records_it(tmp_path):
    assert run_aegis("init", "shop", "-c", "worker", "-o", tmp_path, "--no-interactive", "--no-lock").returncode == 0
    ans = tomllib.loads((tmp_path / "shop/.aegis.toml").read_text())
    assert ans["components"] == ["cache", "worker[arq]"] and ans["pulled_in"] == ["cache"]
    r = run_aegis("remove", "worker", "-p", tmp_path / "shop")                 # the cache goes with what needed it
    assert r.returncode == 0 and tomllib.loads((tmp_path / "shop/.aegis.toml").read_text())["components"] == []

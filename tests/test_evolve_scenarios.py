"""Every scenario E1-E23 of shared/cases/evolve-scenarios.md, on real git repositories.

The "template side" is the real render plus files a `Side` controls, standing in for a new aegis
version; `update(renderer=side)` then merges it like any change."""
import os
import subprocess

import pytest

from aegis.evolve import add, remove, update, continue_, abort, ANSWERS_FILE
from aegis.gitstore import locate
from aegis.specs import AegisError
import aegis.merge
import aegis.evolve
from test_evolve_support import Side, make_project, commit, files, state, unmerged, git, cli, status

LINES = b"".join(b"line %d\n" % i for i in range(1, 13))


def edit_line(data: bytes, n: int, new: bytes) -> bytes:
    lines = data.splitlines(True)
    lines[n - 1] = new + (b"\r\n" if lines[n - 1].endswith(b"\r\n") else b"\n")
    return b"".join(lines)


@pytest.fixture
def side():
    return Side({"app/a.py": LINES, "app/b.py": LINES, "app/c.py": LINES})


@pytest.fixture
def proj(tmp_path, side):
    return make_project(tmp_path, renderer=side)


def test_e1_untouched_file_stays_byte_for_byte(proj, side):
    (proj / "app/a.py").write_bytes(b"user's own a\n")
    commit(proj)
    side.files["app/b.py"] = LINES + b"new in b\n"
    r = update(proj, renderer=side)
    assert r.status == "applied" and r.changes == [("app/b.py", "modified")]
    assert (proj / "app/a.py").read_bytes() == b"user's own a\n"
    assert (proj / "app/b.py").read_bytes() == LINES + b"new in b\n"
    assert status(proj) == b""          # committed as aegis' change


def test_e2_different_lines_merge_cleanly(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 2, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 10, b"aegis'")
    r = update(proj, renderer=side)
    assert r.status == "applied" and r.exit_code == 0 and not r.conflicts
    assert (proj / "app/a.py").read_bytes() == edit_line(edit_line(LINES, 2, b"mine"), 10, b"aegis'")
    assert unmerged(proj) == {}


def test_e3_same_lines_conflict_labelled_unmerged_pending(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    r = update(proj, renderer=side)
    assert (r.status, r.exit_code) == ("pending", 1)
    assert [c.path for c in r.conflicts] == ["app/a.py"]
    text = (proj / "app/a.py").read_text()
    assert "<<<<<<< your project\nmine\n=======\naegis'\n>>>>>>> aegis: update to aegis" in text
    assert unmerged(proj) == {"app/a.py": [1, 2, 3]}
    assert "app/a.py" in str(r) and "CONFLICT" in str(r)
    # E20 on the way: any change while this one is pending is refused, naming it
    with pytest.raises(AegisError, match="a change is pending \\(update to aegis"):
        add("cache", proj, available_only=False)


def test_e4_every_conflicting_hunk_marked(proj, side):
    mine = edit_line(edit_line(LINES, 2, b"mine 2"), 10, b"mine 10")
    (proj / "app/a.py").write_bytes(mine)
    commit(proj)
    side.files["app/a.py"] = edit_line(edit_line(LINES, 2, b"aegis 2"), 10, b"aegis 10")
    r = update(proj, renderer=side)
    assert r.conflicts[0].hunks == 2
    text = (proj / "app/a.py").read_text()
    assert text.count("<<<<<<< your project") == 2 and text.count(">>>>>>> aegis") == 2
    for s in ("mine 2", "mine 10", "aegis 2", "aegis 10", "line 6"): assert s in text


def test_e5_deleted_file_changed_by_aegis_stays_deleted_as_conflict(proj, side):
    (proj / "app/a.py").unlink()
    commit(proj)
    side.files["app/a.py"] = LINES + b"more\n"
    r = update(proj, renderer=side)
    assert not (proj / "app/a.py").exists()
    assert r.status == "pending" and "deleted by you" in r.conflicts[0].kind
    assert unmerged(proj) == {"app/a.py": [1, 3]}


def test_e6_deleted_file_left_alone_stays_deleted(proj, side):
    (proj / "app/a.py").unlink()
    commit(proj)
    side.files["app/b.py"] = LINES + b"more\n"
    r = update(proj, renderer=side)
    assert r.status == "applied" and not (proj / "app/a.py").exists()


def test_e7_file_no_longer_produced_and_untouched_is_removed(proj, side):
    side.files["deep/er/only.txt"] = b"x\n"
    r = update(proj, renderer=side)
    assert (proj / "deep/er/only.txt").exists()
    del side.files["deep/er/only.txt"]
    r = update(proj, renderer=side)
    assert r.changes == [("deep/er/only.txt", "deleted")]
    assert not (proj / "deep").exists()                                # no empty folders left


def test_e8_file_no_longer_produced_but_edited_is_kept_and_reported(proj, side):
    (proj / "app/c.py").write_bytes(LINES + b"mine\n")
    commit(proj)
    del side.files["app/c.py"]
    r = update(proj, renderer=side)
    assert (proj / "app/c.py").read_bytes() == LINES + b"mine\n"
    assert r.status == "pending" and "no longer produced" in r.conflicts[0].kind
    assert unmerged(proj) == {"app/c.py": [1, 2]}


def test_e9_path_created_by_both_conflicts_user_content_kept(proj, side):
    (proj / "app/new.py").write_bytes(b"def mine():\n    return 1\n")
    commit(proj)
    side.files["app/new.py"] = b"def theirs():\n    return 2\n"
    r = update(proj, renderer=side)
    assert r.status == "pending" and "created by you and by aegis" in r.conflicts[0].kind
    text = (proj / "app/new.py").read_text()
    assert "def mine():" in text and "def theirs():" in text and "<<<<<<< your project" in text
    assert unmerged(proj) == {"app/new.py": [2, 3]}


def test_e10_exec_bit_follows_the_template_in_tree_and_index(proj, side):
    side.files["app/a.py"] = (LINES, 0o755)
    update(proj, renderer=side)
    assert os.stat(proj / "app/a.py").st_mode & 0o111
    assert git(proj, "ls-files", "-s", "app/a.py").stdout.startswith(b"100755")
    side.files["app/a.py"] = (LINES, 0o644)
    update(proj, renderer=side)
    assert not os.stat(proj / "app/a.py").st_mode & 0o111
    assert git(proj, "ls-files", "-s", "app/a.py").stdout.startswith(b"100644")


def test_e11_users_exec_bit_kept(proj, side):
    os.chmod(proj / "app/a.py", 0o755)
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 3, b"aegis'")
    r = update(proj, renderer=side)
    assert r.status == "applied"
    assert os.stat(proj / "app/a.py").st_mode & 0o111
    assert (proj / "app/a.py").read_bytes() == edit_line(LINES, 3, b"aegis'")
    assert git(proj, "ls-files", "-s", "app/a.py").stdout.startswith(b"100755")


def test_e12_non_ascii_content_and_answers(tmp_path):
    base = "# café\nα = 1\nβ = 2\n漢字 = 3\n".encode()
    side = Side({"app/u.py": base})
    proj = make_project(tmp_path, name="Café Crème", renderer=side)
    (proj / "app/u.py").write_bytes(base.replace("β = 2".encode(), "β = 'à moi'".encode()))
    commit(proj)
    side.files["app/u.py"] = base.replace("β = 2".encode(), "β = 'ñandú'".encode())
    r = update(proj, renderer=side)
    data = (proj / "app/u.py").read_bytes()
    assert data.decode() == ("# café\nα = 1\n<<<<<<< your project\nβ = 'à moi'\n=======\nβ = 'ñandú'\n"
                             f">>>>>>> aegis: {r.action}\n漢字 = 3\n")
    assert 'name = "Café Crème"' in (proj / ANSWERS_FILE).read_text(encoding="utf-8")
    assert abort(proj).status == "aborted"
    r = add("cache", proj, available_only=False)                          # answers rewritten: still intact
    assert 'name = "Café Crème"' in (proj / ANSWERS_FILE).read_text(encoding="utf-8")


def test_e13_crlf_kept_no_doubled_cr(tmp_path):
    crlf = LINES.replace(b"\n", b"\r\n")
    side = Side({"win.txt": crlf})
    proj = make_project(tmp_path, renderer=side)
    (proj / "win.txt").write_bytes(edit_line(crlf, 2, b"mine"))
    commit(proj)
    side.files["win.txt"] = edit_line(edit_line(crlf, 2, b"aegis'"), 11, b"aegis 11")
    update(proj, renderer=side)
    data = (proj / "win.txt").read_bytes()
    assert b"\r\r" not in data and data.count(b"\r\n") == data.count(b"\n")
    assert b"<<<<<<< your project\r\nmine\r\n=======\r\naegis'\r\n>>>>>>> aegis" in data
    assert b"aegis 11\r\n" in data


def test_e14_binary_both_changed_never_merged_as_text(tmp_path):
    side = Side({"logo.bin": b"\x89PNG\0\x01\x02base\n"})
    proj = make_project(tmp_path, renderer=side)
    (proj / "logo.bin").write_bytes(b"\x89PNG\0\x01\x02mine\n")
    commit(proj)
    side.files["logo.bin"] = b"\x89PNG\0\x01\x02aegis\n"
    r = update(proj, renderer=side)
    assert r.status == "pending" and "binary" in r.conflicts[0].kind
    assert (proj / "logo.bin").read_bytes() == b"\x89PNG\0\x01\x02mine\n"
    assert git(proj, "show", ":2:logo.bin").stdout == b"\x89PNG\0\x01\x02mine\n"
    assert git(proj, "show", ":3:logo.bin").stdout == b"\x89PNG\0\x01\x02aegis\n"


def test_e15_env_and_ignored_files_never_touched(tmp_path):
    side = Side({".gitignore": b".env\ndata/\n"})
    proj = make_project(tmp_path, renderer=side)
    (proj / "data").mkdir(); (proj / "data/app.db").write_bytes(b"rows")
    env_before = (proj / ".env").read_bytes(); mtime = (proj / ".env").stat().st_mtime_ns
    r = add("database[postgres]", proj, available_only=False, renderer=side)
    assert r.status == "applied"
    assert (proj / ".env").read_bytes() == env_before and (proj / ".env").stat().st_mtime_ns == mtime
    assert any("POSTGRES_PASSWORD" in n and ".env" in n for n in r.notes), r.notes
    assert (proj / "data/app.db").read_bytes() == b"rows"
    remove("database", proj, renderer=side)
    assert (proj / ".env").read_bytes() == env_before and (proj / "data/app.db").read_bytes() == b"rows"


def test_e16_monorepo_subfolder(tmp_path):
    mono = tmp_path / "mono"
    mono.mkdir()
    git(mono, "init", "-q", "-b", "main")
    (mono / "README.md").write_text("the monorepo\n")
    (mono / "other").mkdir(); (mono / "other/x.py").write_text("x = 1\n")
    proj = make_project(mono / "services", git=False, folder="api")    # inside mono: mono's repository
    assert locate(proj).top == mono.resolve()
    commit(mono, "add the api")
    (mono / "other/x.py").write_text("x = 2  # work in progress elsewhere\n")   # dirty outside: not our business
    git(mono, "add", "other/x.py")
    r = add("cache", proj, available_only=False)
    assert r.status == "applied"
    assert (mono / "other/x.py").read_text() == "x = 2  # work in progress elsewhere\n"
    assert git(mono, "diff", "--cached", "--name-only").stdout == b"other/x.py\n"  # still staged, not committed
    committed = git(mono, "show", "--name-only", "--format=", "HEAD").stdout.decode().split()
    assert {"services/api/.aegis.toml", "services/api/docker-compose.yml"} <= set(committed)
    assert all(p.startswith("services/api/") for p in committed)                # nothing outside the project
    assert "redis" in (proj / "docker-compose.yml").read_text()
    assert remove("cache", proj).status == "applied"
    assert "redis" not in (proj / "docker-compose.yml").read_text()


STEPS = [(s, False) for s in ("published", "journal", "first write", "files", "index", "commit", "recorded")] + \
        [(s, True) for s in ("published", "journal", "first write", "files", "index", "refs")]


@pytest.mark.parametrize("step,conflicting", STEPS, ids=[f"{s}{'-conflict' if c else ''}" for s, c in STEPS])
def test_e17_interrupted_at_each_step_leaves_project_as_it_was(proj, side, monkeypatch, step, conflicting):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 2, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 2 if conflicting else 9, b"aegis'")
    side.files["app/new/d.py"] = b"new\n"
    del side.files["app/c.py"]
    before = state(proj)

    def boom(s):
        if s == step: raise KeyboardInterrupt(s)
    monkeypatch.setattr(aegis.merge, "checkpoint", boom)
    with pytest.raises(KeyboardInterrupt):
        add("cache", proj, available_only=False, renderer=side)
    after = state(proj)
    after.pop("mtimes"); b = dict(before); b.pop("mtimes")
    assert after == b
    assert state(proj)["mtimes"] == before["mtimes"]
    monkeypatch.undo()
    assert add("cache", proj, available_only=False, renderer=side).status == ("pending" if conflicting else "applied")


def test_e17_a_real_git_failure_rolls_back(proj, side):
    side.files["app/a.py"] = LINES + b"x\n"
    before = state(proj)
    lock = proj / ".git/index.lock"
    lock.write_text("")                                                  # another git process holds the index
    with pytest.raises(AegisError, match="git add failed"):
        update(proj, renderer=side)
    lock.unlink()
    assert state(proj) == before


def test_e17_killed_process_is_rolled_back_by_the_next_command(proj, side, monkeypatch):
    # a SIGKILL cannot be caught: simulate the dead process by leaving its journal behind
    side.files["app/a.py"] = LINES + b"x\n"
    before = state(proj)

    class Killed(BaseException): pass
    def die(s):
        if s == "files": raise Killed
    monkeypatch.setattr(aegis.merge, "checkpoint", die)
    monkeypatch.setattr(aegis.merge, "rollback", lambda *a: None)      # a killed process runs no rollback
    with pytest.raises(Killed): update(proj, renderer=side)
    monkeypatch.undo()
    assert (proj / "app/a.py").read_bytes() == LINES + b"x\n"           # half-applied on disk
    with pytest.raises(AegisError, match="half applied"):
        update(proj, dry_run=True, renderer=side)                                  # a dry run writes nothing
    r = update(proj, renderer=Side({"app/a.py": LINES, "app/b.py": LINES, "app/c.py": LINES}))
    assert "rolled back an interrupted change" in r.notes[0]
    assert state(proj) == before


def _killed_at(proj, side, monkeypatch, step, **kw):
    "Run a change whose process dies at `step`: no rollback runs, the journal stays (as after a SIGKILL)."
    class Killed(BaseException): pass
    def die(s):
        if s == step: raise Killed
    monkeypatch.setattr(aegis.merge, "checkpoint", die)
    monkeypatch.setattr(aegis.merge, "rollback", lambda *a, **k: None)
    with pytest.raises(Killed): update(proj, renderer=side, **kw)
    monkeypatch.undo()


@pytest.mark.parametrize("step", ["commit", "recorded"])
def test_e17_killed_after_its_commit_is_finished_not_undone(proj, side, monkeypatch, step):
    side.files["app/a.py"] = LINES + b"x\n"
    _killed_at(proj, side, monkeypatch, step)
    head = state(proj)["head"]
    assert git(proj, "log", "-1", "--format=%s").stdout.startswith(b"aegis: update")   # the change is history
    r = update(proj, renderer=side)
    assert r.status == "nothing to do" and ("finished an interrupted change" in r.notes[0] or "had finished" in r.notes[0])
    now = state(proj)
    assert now["head"] == head and not now["record"] and status(proj) == b""
    assert (proj / "app/a.py").read_bytes() == LINES + b"x\n"


def test_e17_abort_of_a_change_killed_after_its_commit_says_it_finished(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    _killed_at(proj, side, monkeypatch, "commit")
    r = abort(proj)                                   # too late to take back: it is in the history
    assert r.status == "continued" and "it had been committed" in r.notes[0] and not state(proj)["record"]
    _killed_at(proj, Side({**side.files, "app/b.py": LINES + b"y\n"}), monkeypatch, "index")
    r = abort(proj)
    assert r.status == "aborted" and r.notes[0].startswith("rolled back") and (proj / "app/b.py").read_bytes() == LINES

def test_e17_killed_then_edited_keeps_every_edit(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    side.files["app/b.py"] = LINES + b"y\n"
    side.files["app/c.py"] = LINES + b"z\n"
    before = state(proj)
    _killed_at(proj, side, monkeypatch, "first write")                            # app/a.py written, b and c not
    # before the next aegis command, the user edits all three
    (proj / "app/a.py").write_bytes(edit_line(LINES + b"x\n", 1, b"mine"))        # written, edited away from its line
    (proj / "app/b.py").write_bytes(edit_line(LINES, 3, b"mine too"))             # never written: the edit is on the old file
    (proj / "app/c.py").write_bytes(LINES + b"z, and mine\n")                     # as if written, edited on the change's line
    now = state(proj)
    with pytest.raises(AegisError, match="needs settling first \\(it is half applied: aegis update --abort rolls it back\\); a dry run writes nothing"):
        update(proj, dry_run=True, renderer=side)                                 # a dry run writes nothing, even here
    assert state(proj) == now
    res = cli("update", "--abort", "-p", proj)
    assert res.returncode == 0, res.stderr
    out = " ".join(res.stdout.split())
    assert "rolled back an interrupted change (update" in out and "kept what you changed in app/a.py since" in out
    assert "kept app/c.py as you left it" in out                                  # the change's line is in the user's
    assert (proj / "app/a.py").read_bytes() == edit_line(LINES, 1, b"mine")        # the edit, without the change
    assert (proj / "app/b.py").read_bytes() == edit_line(LINES, 3, b"mine too")
    assert (proj / "app/c.py").read_bytes() == LINES + b"z, and mine\n"
    after = state(proj)
    assert (after["head"], after["refs"], after["index"], after["record"]) == \
           (before["head"], before["refs"], before["index"], before["record"])
    assert not list(proj.rglob(".aegis-tmp-*"))


def test_e17_killed_then_appended_next_to_the_change_is_separated_and_never_doubled(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"aegis 1\naegis 2\n"
    _killed_at(proj, side, monkeypatch, "files")
    (proj / "app/a.py").write_bytes(LINES + b"aegis 1\naegis 2\nmine\n")      # appended right after the change's lines
    r = abort(proj)
    assert r.status == "aborted" and "kept what you changed in app/a.py since" in r.notes
    assert (proj / "app/a.py").read_bytes() == LINES + b"mine\n"                # the change's lines out, the edit kept
    commit(proj)
    assert update(proj, renderer=side).status == "applied"
    assert (proj / "app/a.py").read_bytes() == LINES + b"mine\naegis 1\naegis 2\n"   # once, not twice (yours first)

def test_e17_continue_after_a_kill_that_rolls_back_is_not_a_success(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    _killed_at(proj, side, monkeypatch, "index")
    res = cli("update", "--continue", "-p", proj)
    assert res.returncode == 1 and "not finished" in res.stdout and "rolled back an interrupted change" in res.stdout
    assert (proj / "app/a.py").read_bytes() == LINES


def test_e17_dry_run_after_a_kill_past_the_commit_names_continue(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    _killed_at(proj, side, monkeypatch, "commit")
    with pytest.raises(AegisError, match="it had been committed: aegis update --continue records it"):
        update(proj, dry_run=True, renderer=side)
    assert continue_(proj).status == "continued"

def test_e17_killed_then_committed_never_moves_the_users_commit(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    _killed_at(proj, side, monkeypatch, "index")
    (proj / "NOTES.md").write_text("important\n")
    commit(proj, "my commit")                                                     # half-applied files and all
    mine = state(proj)["head"]
    with pytest.raises(AegisError, match="rolled back an interrupted change .*your commits since hold app/a.py.*"
                                         "then: the project has uncommitted changes"):
        add("cache", proj, available_only=False, renderer=side)                   # says what the recovery did
    assert state(proj)["head"] == mine                                            # the user's commit stays HEAD
    assert (proj / "app/a.py").read_bytes() == LINES                              # the change is taken back...
    assert git(proj, "diff", "--name-only").stdout == b"app/a.py\n"              # ...as a diff against that commit
    commit(proj, "take back the half change")
    assert add("cache", proj, available_only=False, renderer=side).status == "applied"
    assert (proj / "NOTES.md").read_text() == "important\n"


def test_e17_killed_after_its_commit_then_committed_on_top_is_finished(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    _killed_at(proj, side, monkeypatch, "commit")
    (proj / "n.txt").write_text("hi\n"); commit(proj, "mine")
    r = update(proj, renderer=side)
    assert "finished an interrupted change" in r.notes[0] and r.status == "nothing to do"
    assert status(proj) == b"" and (proj / "app/a.py").read_bytes() == LINES + b"x\n"


def test_e18c_killed_while_continue_finished_is_settled(proj, side, monkeypatch):
    _pending_with_clean_b(proj, side)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved"))
    class Killed(BaseException): pass
    def die(s):
        if s == "recorded": raise Killed
    monkeypatch.setattr(aegis.merge, "checkpoint", die)
    with pytest.raises(Killed): continue_(proj)
    monkeypatch.undo()
    r = continue_(proj)
    assert r.status == "continued" and "had finished" in r.notes[0] and not state(proj)["record"]
    assert add("cache", proj, available_only=False, renderer=side).status == "applied"


def test_e19g_abort_killed_half_way_still_names_the_saved_resolution(proj, side, monkeypatch):
    before = _pending_with_clean_b(proj, side)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"my resolution"))
    class Killed(BaseException): pass
    def die(*a, **k): raise Killed
    monkeypatch.setattr(aegis.evolve, "rollback", die)                           # killed after saving, before restoring
    with pytest.raises(Killed): abort(proj)
    monkeypatch.undo()
    (proj / "app/a.py").write_bytes(before["files"]["app/a.py"][0])               # as a part-done rollback leaves it
    r = abort(proj)
    note = next(n for n in r.notes if "app/a.py" in n)
    oid = note.split("cat-file -p ")[1].split("`")[0]
    assert git(proj, "cat-file", "-p", oid).stdout == edit_line(LINES, 5, b"my resolution")


def test_e19h_abort_after_reset_says_nothing_was_written(proj, side):
    _pending_with_clean_b(proj, side)
    git(proj, "reset", "-q", "--hard")
    r = abort(proj)
    assert r.status == "aborted" and not any("while resolving" in n for n in r.notes)


def test_e17_killed_mid_write_leaves_no_temporary_file(proj, side, monkeypatch):
    side.files["app/a.py"] = LINES + b"x\n"
    before = state(proj)
    _killed_at(proj, side, monkeypatch, "first write")
    (proj / "app/.aegis-tmp-99999-a.py").write_bytes(b"half a file")        # a write killed before its rename
    assert abort(proj).status == "aborted"
    assert state(proj) == before

def test_leftovers_of_a_process_killed_before_its_journal_are_swept(proj, side):
    import subprocess, sys, tempfile
    from pathlib import Path
    dead = subprocess.Popen([sys.executable, "-c", "pass"]); dead.wait()
    obj = proj / f".git/objects/ab/.tmp-aegis-{dead.pid}-cdef"                # a half-copied object
    obj.parent.mkdir(exist_ok=True); obj.write_bytes(b"half")
    stage = Path(tempfile.gettempdir(), f"aegis-stage-{dead.pid}-xyz"); stage.mkdir(exist_ok=True)
    assert update(proj, renderer=side).status == "nothing to do"              # any next command
    assert not obj.exists() and not stage.exists()
    assert git(proj, "fsck", "--no-dangling").returncode == 0

def test_e17_sighup_rolls_back_like_sigterm(proj, side, tmp_path):
    "The terminal closing (SIGHUP) mid-change: the process rolls the change back before it exits."
    from pathlib import Path
    side.files["app/a.py"] = LINES + b"x\n"
    before = state(proj)
    script = ("import os, signal, sys; sys.path.insert(0, %r); import aegis.merge; from test_evolve_support import Side; "
              "from aegis.evolve import update\n"
              "def hup(s):\n    if s == 'files': os.kill(os.getpid(), signal.SIGHUP)\n"
              "aegis.merge.checkpoint = hup\n"
              "try: update(sys.argv[1], renderer=Side(%r))\nexcept KeyboardInterrupt: sys.exit(130)\n"
              ) % (str(Path(__file__).parent), side.files)
    import subprocess, sys
    p = subprocess.run([sys.executable, "-c", script, str(proj)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 130, p.stderr
    assert state(proj) == before


def test_e18_continue_refuses_when_the_change_was_reset_away(proj, side):
    _pending_with_clean_b(proj, side)
    git(proj, "reset", "-q", "--hard")                  # the user throws the working tree away, markers and all
    git(proj, "clean", "-qfd", "--", "app")
    with pytest.raises(AegisError, match="the change's files are back as they were before it \\(app/b.py.*--abort"):
        continue_(proj)
    assert abort(proj).status == "aborted" and not state(proj)["record"]


def test_e19f_abort_keeps_an_exec_bit_set_while_pending(proj, side):
    before = _pending_with_clean_b(proj, side)
    os.chmod(proj / "app/b.py", 0o755)                                        # made executable while pending
    assert abort(proj).status == "aborted"
    assert (proj / "app/b.py").read_bytes() == before["files"]["app/b.py"][0]  # the change's line went
    assert os.stat(proj / "app/b.py").st_mode & 0o111                          # the chmod stayed
    assert git(proj, "status", "--porcelain").stdout == b" M app/b.py\n"

def test_e18d_continue_commits_what_is_staged_not_later_edits(proj, side):
    _pending_with_clean_b(proj, side)
    (proj / "app/b.py").write_bytes((proj / "app/b.py").read_bytes() + b"# mine, while pending\n")   # not staged
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved"))
    (proj / "notes.txt").write_text("staged elsewhere\n"); git(proj, "add", "notes.txt")
    assert continue_(proj).status == "continued"
    committed = git(proj, "show", "HEAD:app/b.py").stdout
    assert b"mine, while pending" not in committed and b"aegis' 10" in committed
    assert git(proj, "show", "HEAD:app/a.py").stdout == edit_line(LINES, 5, b"resolved")
    assert git(proj, "status", "--porcelain").stdout == b" M app/b.py\nA  notes.txt\n"   # as the user left them
    assert git(proj, "log", "-1", "--format=%s").stdout.startswith(b"aegis: update")

def test_e18b_continue_sees_a_separator_left_behind(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine") + b"=======\n")   # the user's own ======= line
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    assert update(proj, renderer=side).status == "pending"
    text = (proj / "app/a.py").read_bytes()
    assert text.count(b"=======\n") == 2
    # the markers' first and last lines removed, the separator forgotten
    half = b"".join(l for l in text.splitlines(True) if not l.startswith((b"<<<<<<<", b">>>>>>>")))
    (proj / "app/a.py").write_bytes(half)
    r = continue_(proj)
    assert r.status == "pending" and any("a ======= line" in n for n in r.notes)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved") + b"=======\n")  # the user's own line stays
    assert continue_(proj).status == "continued"

def test_e19d_abort_refuses_after_the_resolution_was_committed(proj, side):
    _pending_with_clean_b(proj, side)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved"))
    commit(proj, "my resolution")
    now = state(proj)
    with pytest.raises(AegisError, match="commits made since the change was applied changed app/.*--continue"):
        abort(proj)
    assert state(proj) == now
    assert continue_(proj).status == "continued" and not state(proj)["record"]


def test_e19e_abort_saves_what_was_written_in_a_conflicted_file(proj, side):
    before = _pending_with_clean_b(proj, side)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"half resolved"))
    r = abort(proj)
    assert r.status == "aborted" and state(proj) == before
    note = next(n for n in r.notes if "app/a.py" in n)
    oid = note.split("cat-file -p ")[1].split("`")[0]
    assert git(proj, "cat-file", "-p", oid).stdout == edit_line(LINES, 5, b"half resolved")


def test_continue_with_an_ignored_file_in_the_way(proj, side):
    (proj / ".gitignore").write_text("app/local.cfg\n")
    commit(proj)
    (proj / "app/local.cfg").write_text("mine, ignored\n")
    side.files["app/local.cfg"] = b"aegis' version\n"
    r = update(proj, renderer=side)
    assert r.status == "pending" and "in the way" in str(r.conflicts[0])
    assert continue_(proj).status == "continued"                                   # nothing to stage: it is finished
    assert (proj / "app/local.cfg").read_text() == "mine, ignored\n" and not state(proj)["record"]


def test_continue_writes_the_files_once_the_way_is_clear(tmp_path):
    proj = make_project(tmp_path)
    (proj / "shop/components/cache").write_text("notes\n"); commit(proj, "a file named cache")
    r = add("cache", proj)
    assert r.status == "pending" and all("is in the way" in c.kind for c in r.conflicts), str(r)
    r = continue_(proj)                                  # still there: the change would import a package it lacks
    assert r.status == "pending" and r.notes == [
        "your file shop/components/cache is still in the way of 6 file(s) the change adds: move it away, then continue again"]
    git(proj, "rm", "-q", "shop/components/cache")
    assert continue_(proj).status == "continued"
    assert (proj / "shop/components/cache/client.py").is_file() and status(proj) == b""   # the removal is in its commit
    ref = make_project(tmp_path / "ref", "cache")
    mine, want = files(proj), files(ref)
    assert {p for p in set(mine) | set(want) if mine.get(p) != want.get(p)} <= {".env", ANSWERS_FILE}


def test_a_gitignore_rule_matching_a_folder_aegis_adds(tmp_path):
    proj = make_project(tmp_path, "database")
    with open(proj / ".gitignore", "a") as f: f.write("cache/\n")              # meant for local caches
    commit(proj, "ignore cache folders")
    r = add("cache", proj)                               # git add refused the ignored folder: half the change was staged
    assert r.status == "applied" and status(proj) == b"", str(r)
    assert "shop/components/cache/client.py" in git(proj, "ls-files").stdout.decode()


@pytest.fixture
def immutable():
    "chattr +i: what a root user cannot write either (a read-only folder does not stop root)."
    made = []
    def make(path):
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
        made.append(path)
    yield make
    for p in made: subprocess.run(["chattr", "-i", str(p)])


@pytest.mark.parametrize("where", ["shop/components", "shop/health", "shop/settings.py"])
def test_a_path_aegis_cannot_write_is_one_line_and_nothing_changes(tmp_path, immutable, where):
    proj = make_project(tmp_path, "database")
    before = state(proj)
    immutable(proj / where)
    res = cli("add", "cache", "-p", proj)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "failed and was undone, nothing changed: Operation not permitted" in res.stderr and ".aegis-tmp" not in res.stderr
    assert state(proj) == before and status(proj) == b""


def test_a_git_failure_names_gits_own_error(tmp_path):
    proj = make_project(tmp_path, "database")
    lock = proj / ".git/index.lock"; lock.write_text("")
    res = cli("add", "cache", "-p", proj)
    assert res.returncode == 2 and "index.lock" in res.stderr, res.stderr   # not the advice's last line
    lock.unlink()
    assert add("cache", proj).status == "applied" and status(proj) == b""


def test_a_commit_git_cannot_sign_is_one_line_with_the_fix_and_changes_nothing(tmp_path):
    proj = make_project(tmp_path, "database")
    git(proj, "config", "commit.gpgsign", "true"); git(proj, "config", "gpg.program", "false")   # no usable key
    before = state(proj)
    res = cli("add", "cache", "-p", proj)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert "gpg failed to sign" in res.stderr and "commit.gpgsign false" in res.stderr, res.stderr
    assert state(proj) == before


def test_an_answers_file_saved_with_a_bom_says_so(tmp_path):
    proj = make_project(tmp_path)
    (proj / ANSWERS_FILE).write_bytes(b"\xef\xbb\xbf" + (proj / ANSWERS_FILE).read_bytes()); commit(proj, "notepad")
    res = cli("add", "cache", "-p", proj)
    assert res.returncode == 2 and "byte order mark" in res.stderr and "Invalid statement" not in res.stderr, res.stderr


@pytest.mark.parametrize("then", ["applied", "aborted", "continued"])
def test_a_file_kept_out_of_git_on_purpose_is_never_committed_nor_removed(tmp_path, then):
    proj = make_project(tmp_path, "database")
    compose = proj / "docker-compose.yml"
    compose.write_bytes(compose.read_bytes() + b"# my local tweak\n")
    git(proj, "rm", "-q", "--cached", "docker-compose.yml")
    with open(proj / ".gitignore", "a") as f: f.write("docker-compose.yml\n")
    if then != "applied":                                               # a conflict elsewhere keeps the change pending
        mk = (proj / "Makefile").read_bytes()
        (proj / "Makefile").write_bytes(mk.replace(b".PHONY: help", b".PHONY: mine help", 1))
    commit(proj, "compose is local to me")
    mine, before = compose.read_bytes(), state(proj)
    r = add("cache", proj)
    assert any("docker-compose.yml: you keep it out of git" in n for n in r.notes), str(r)
    assert "docker-compose.yml" not in [c.path for c in r.conflicts]
    if then == "aborted": assert abort(proj).status == "aborted" and state(proj) == before
    if then == "continued":
        mk = (proj / "Makefile").read_bytes().splitlines(True)
        (proj / "Makefile").write_bytes(b"".join(l for l in mk if not l.startswith((b"<<<<<<< ", b"=======", b">>>>>>> "))))
        assert continue_(proj).status == "continued"
    assert compose.read_bytes() == mine                                 # abort deleted it, --continue committed it
    assert git(proj, "ls-files", "docker-compose.yml").stdout == b"" and status(proj) == b""


def _crlf_checkout(proj):
    "The project as a Windows user with core.autocrlf=true has it: git stores LF, the files on disk are CRLF."
    git(proj, "config", "core.autocrlf", "true")
    git(proj, "rm", "-q", "--cached", "-r", "."); git(proj, "reset", "-q", "--hard")
    assert (proj / "shop/main.py").read_bytes().count(b"\r\n") > 10


def test_autocrlf_files_keep_their_line_endings_and_abort_is_byte_exact(tmp_path):
    proj = make_project(tmp_path, "database"); _crlf_checkout(proj)
    mk = (proj / "Makefile").read_bytes()
    (proj / "Makefile").write_bytes(mk.replace(b".PHONY: help", b".PHONY: mine help", 1)); commit(proj, "mine")
    before = state(proj)
    assert add("cache", proj).status == "pending"                       # the cache's target meets mine on .PHONY
    assert (proj / "shop/main.py").read_bytes().count(b"\n") == (proj / "shop/main.py").read_bytes().count(b"\r\n")
    assert abort(proj).status == "aborted" and state(proj) == before  # byte for byte: CRLF again (it came back LF)


def test_autocrlf_add_and_remove_leave_crlf_files_and_a_clean_tree(tmp_path):
    proj = make_project(tmp_path, "database"); _crlf_checkout(proj)
    before = files(proj)
    assert add("cache", proj).status == "applied" and status(proj) == b""
    for f in ("shop/main.py", "shop/components/cache/client.py", ANSWERS_FILE):       # changed, added, aegis' own
        data = (proj / f).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n"), f
    assert update(proj).status == "nothing to do"                      # the CRLF answers file is the one recorded
    assert remove("cache", proj).status == "applied" and status(proj) == b"" and files(proj) == before


def test_an_eol_attribute_gives_added_files_crlf_as_a_checkout_would(tmp_path):
    proj = make_project(tmp_path, "database")
    (proj / ".gitattributes").write_text("* text=auto eol=lf\n*.py text eol=crlf\n"); commit(proj, "attributes")
    git(proj, "rm", "-q", "--cached", "-r", "."); git(proj, "reset", "-q", "--hard")
    assert add("cache", proj).status == "applied" and status(proj) == b""
    added = (proj / "shop/components/cache/client.py").read_bytes()
    assert added.count(b"\n") == added.count(b"\r\n") > 10                            # *.py: CRLF, as checked out
    assert b"\r" not in (proj / "README.md").read_bytes()                              # eol=lf: as it was


def test_a_file_committed_with_crlf_merges_instead_of_conflicting_whole(tmp_path):
    proj = make_project(tmp_path, "database")
    for f in ("shop/settings.py", ANSWERS_FILE):                        # an editor saved them the Windows way
        (proj / f).write_bytes((proj / f).read_bytes().replace(b"\n", b"\r\n"))
    commit(proj, "crlf")
    before = files(proj)
    r = add("cache", proj)
    assert r.status == "applied" and not r.conflicts, str(r)            # one hunk covering all of settings.py
    data = (proj / "shop/settings.py").read_bytes()
    assert b"REDIS_URL" in data.upper() and data.count(b"\n") == data.count(b"\r\n")
    assert update(proj).status == "nothing to do"
    assert remove("cache", proj).status == "applied" and files(proj) == before


@pytest.mark.parametrize("args,says", [(["update", "--abort", "--dry-run"], "--dry-run cannot be combined with --abort"),
                                       (["update", "--continue", "--dry-run"], "--dry-run cannot be combined with --continue"),
                                       (["add", "cache", "--abort"], "--abort finishes the pending change and takes no components"),
                                       (["remove", "cache", "--continue"], "--continue finishes the pending change and takes")])
def test_cli_continue_and_abort_refuse_what_they_cannot_honour(proj, side, args, says):
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine")); commit(proj)
    assert update(proj, renderer=side).status == "pending"
    now = state(proj)
    res = cli(*args, "-p", proj)
    assert res.returncode == 2 and says in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert state(proj) == now


def test_pending_summary_names_the_command_that_made_it(proj, side):
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine")); commit(proj)
    r = add("cache", proj, available_only=False, renderer=side)
    assert r.status == "pending" and "then aegis add --continue (or --abort)" in r.summary()


def test_e18_continue_advances_the_base(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    assert update(proj, renderer=side).status == "pending"
    r = continue_(proj)                                                  # markers still there: refused
    assert r.status == "pending" and r.exit_code == 1
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved"))
    r = continue_(proj)
    assert r.status == "continued"
    assert unmerged(proj) == {} and status(proj) == b""
    assert git(proj, "log", "-1", "--format=%s").stdout.startswith(b"aegis: update")
    # the next change uses the new base: aegis' line 5 is the base now, so a change elsewhere merges cleanly
    side.files["app/a.py"] = edit_line(edit_line(LINES, 5, b"aegis'"), 11, b"aegis 11")
    r = update(proj, renderer=side)
    assert r.status == "applied"
    assert (proj / "app/a.py").read_bytes() == edit_line(edit_line(LINES, 5, b"resolved"), 11, b"aegis 11")


def test_continue_commits_the_changes_files_only(proj, side):
    "Edits the user makes while resolving, elsewhere, stay theirs: uncommitted, as after `git merge --continue`."
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    assert update(proj, renderer=side).status == "pending"
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved"))
    (proj / "mine.py").write_text("x = 1\n"); git(proj, "add", "mine.py")          # staged, unrelated
    (proj / "README.md").write_bytes((proj / "README.md").read_bytes() + b"more\n")  # modified, unrelated
    assert continue_(proj).status == "continued"
    committed = git(proj, "show", "--name-only", "--format=", "HEAD").stdout.split()
    assert b"app/a.py" in committed and b"mine.py" not in committed and b"README.md" not in committed
    assert git(proj, "status", "--porcelain", "--", "mine.py", "README.md").stdout.split() == [b"M", b"README.md", b"A", b"mine.py"]


def test_e19_abort_restores_exactly(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    before = state(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    side.files["brand/new/file.txt"] = b"created by the change\n"
    del side.files["app/c.py"]
    r = add("worker", proj, available_only=False, renderer=side)
    assert r.status == "pending" and (proj / "brand/new/file.txt").exists()
    assert abort(proj).status == "aborted"
    assert state(proj) == before
    with pytest.raises(AegisError, match="nothing to abort"): abort(proj)


def _pending_with_clean_b(proj, side):
    "A change that conflicts in app/a.py and merges app/b.py cleanly (line 10), plus a file it creates."
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    before = state(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    side.files["app/b.py"] = edit_line(LINES, 10, b"aegis' 10")
    side.files["app/new.py"] = b"created by the change\n"
    assert update(proj, renderer=side).status == "pending"
    return before


def test_e19b_abort_keeps_edits_made_while_pending(proj, side):
    before = _pending_with_clean_b(proj, side)
    # people go on working: an edit, away from the change's lines, in a file the change merged cleanly
    (proj / "app/b.py").write_bytes(edit_line(edit_line(LINES, 10, b"aegis' 10"), 2, b"mine, later"))
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved"))      # resolving: the change's to take back
    r = abort(proj)
    assert r.status == "aborted" and any("app/b.py" in n for n in r.notes)
    assert (proj / "app/b.py").read_bytes() == edit_line(LINES, 2, b"mine, later")   # the edit stays, the change went
    after = state(proj)
    assert after["files"]["app/a.py"] == before["files"]["app/a.py"] and "app/new.py" not in after["files"]
    assert after["refs"] == before["refs"] and not after["record"] and after["head"] == before["head"]
    assert after["index"] == before["index"]                                  # the kept edit is unstaged
    assert git(proj, "status", "--porcelain").stdout == b" M app/b.py\n"
    commit(proj)
    assert update(proj, renderer=side).status == "pending"                    # and the change can be made again


@pytest.mark.parametrize("edit", ["change's line", "created file", "deleted file"])
def test_e19c_abort_refuses_to_lose_an_edit_made_while_pending(proj, side, edit):
    _pending_with_clean_b(proj, side)
    if edit == "change's line": (proj / "app/b.py").write_bytes(edit_line(LINES, 10, b"aegis' 10, and mine"))
    elif edit == "created file": (proj / "app/new.py").write_bytes(b"created by the change, then mine\n")
    else: (proj / "app/b.py").unlink()
    path = "app/new.py" if edit == "created file" else "app/b.py"
    now = state(proj)
    with pytest.raises(AegisError, match=f"abort would lose what you changed since the change in {path}: .*git restore {path}"):
        abort(proj)
    assert state(proj) == now                                                 # refused: nothing changed, still pending
    res = cli("update", "--abort", "-p", proj)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and path in res.stderr
    git(proj, "restore", path)                                                # the fix the message names
    assert abort(proj).status == "aborted" and not state(proj)["record"]


def test_e20_pending_change_blocks_every_other_change(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    update(proj, renderer=side)
    for f in (lambda: add("cache", proj, available_only=False), lambda: remove("cache", proj), lambda: update(proj)):
        with pytest.raises(AegisError, match="pending \\(update to aegis .*--continue.*--abort"): f()
    res = cli("add", "cache", "-p", proj)
    assert res.returncode == 2 and "pending" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_e21_dry_run_shows_the_diff_and_writes_nothing(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    before = state(proj)
    objects = git(proj, "count-objects", "-v").stdout
    r = add("worker[dramatiq]", proj, dry_run=True, available_only=False, renderer=side)
    assert r.status == "dry run" and r.exit_code == 0
    assert "+  worker:" in r.diff and "+  redis:" in r.diff and "+<<<<<<< your project" in r.diff
    assert [c.path for c in r.conflicts] == ["app/a.py"]
    assert "<pre" in r._repr_html_() and "worker" in r._repr_html_()
    assert state(proj) == before and git(proj, "count-objects", "-v").stdout == objects
    res = cli("add", "worker[dramatiq]", "--dry-run", "-p", proj)
    assert res.returncode == 0 and "(dry run)" in res.stdout and "+  worker:" in res.stdout
    # piped: the patch as computed, lines not cut to a terminal's width, the Makefile's tabs kept
    assert max(map(len, res.stdout.splitlines())) > 100 and "\n+\t" in res.stdout and "…" not in res.stdout
    assert state(proj) == before


def test_e22_readd_with_another_option_gives_only_the_new_options_files(tmp_path):
    proj = make_project(tmp_path, "database[postgres]")
    remove("database", proj)
    add("database[sqlite]", proj, available_only=False)
    ref = make_project(tmp_path / "ref", "database[sqlite]")
    assert files(proj) == files(ref) | {".env": files(proj)[".env"]}
    compose = (proj / "docker-compose.yml").read_text()
    assert "postgres" not in compose and "app-data" in compose
    remove("database", proj)
    add("database", proj, available_only=False)                         # re-adding: defaults, not the old option
    assert 'components = ["database[sqlite]"]' in (proj / ANSWERS_FILE).read_text()


def test_e23_update_with_nothing_new_touches_nothing(proj, side):
    (proj / "app/a.py").write_bytes(b"mine\n")
    (proj / "scratch.txt").write_bytes(b"uncommitted work\n")           # a no-op update does not even need a clean tree
    before = state(proj)
    r = update(proj, renderer=side)
    assert (r.status, r.exit_code) == ("nothing to do", 0)
    assert state(proj) == before
    plain = make_project(proj.parent / "plain")
    res = cli("update", "-p", plain)
    assert res.returncode == 0 and "nothing to do" in res.stdout


# Refusals: one line, exit 2, nothing changed

@pytest.mark.parametrize("args,message", [
    (["add", "databse"], "unknown component 'databse'"),
    (["add", "database[mysql]"], "unknown option 'mysql'"),
    (["remove", "backend"], "backend is part of every aegis project"),
    (["remove", "cache"], "cannot remove cache: worker[arq] requires it"),
    (["remove", "scheduler"], "scheduler is not in this project"),
    (["add"], "name the components to add"),
    (["add", "cache,,"], "an empty item in 'cache,,': remove the extra comma"),
    (["add", ",scheduler"], "an empty item in ',scheduler'"),
    (["add", "worker[]"], "empty option in 'worker[]': write worker or worker[option]"),
])
def test_refusals_bad_input(tmp_path, args, message):
    proj = make_project(tmp_path, "worker")
    before = state(proj)
    res = cli(*args, "-p", proj)
    assert res.returncode == 2, res.stderr
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert state(proj) == before


def test_the_base_follows_git_when_the_project_is_reset_or_on_another_branch(tmp_path):
    proj = make_project(tmp_path)
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    assert add("cache", proj).status == "applied"
    git(proj, "reset", "-q", "--hard", "HEAD~1")                        # the user takes the change back with git
    r = add("cache", proj)
    assert r.status == "applied" and any("an earlier change left it" in n for n in r.notes)
    assert "redis" in (proj / "docker-compose.yml").read_text()
    assert add("scheduler", proj).status == "applied" and status(proj) == b""   # no false conflicts after it
    git(proj, "checkout", "-q", "-b", "feature")
    assert add("worker", proj).status == "applied"
    git(proj, "checkout", "-q", main)                                    # back where worker is not
    assert update(proj).status == "nothing to do"
    r = add("worker", proj)
    assert r.status == "applied" and not r.conflicts and status(proj) == b""
    assert (proj / "docker-compose.yml").read_text().count("worker") >= 1

def test_answers_edited_by_hand_are_brought_in_by_update(tmp_path):
    proj = make_project(tmp_path)
    text = (proj / ANSWERS_FILE).read_text()
    (proj / ANSWERS_FILE).write_text(text.replace('components = []', 'components = ["cache"]'))
    commit(proj, "cache by hand")
    r = update(proj)
    assert r.status == "applied" and any("changed outside aegis" in n for n in r.notes)
    ref = make_project(tmp_path / "ref", "cache")
    assert {p: v for p, v in files(proj).items() if p != ".env"} == {p: v for p, v in files(ref).items() if p != ".env"}


def test_a_requirement_of_a_component_listed_by_hand_is_recorded_as_pulled_in(tmp_path):
    proj = make_project(tmp_path)
    _set_components(proj, '["worker[arq]"]'); commit(proj, "worker by hand")  # it needs the cache, not listed
    r = add("scheduler", proj)
    assert r.status == "applied" and not r.conflicts, str(r)                 # .aegis.toml conflicted with itself
    assert any("cache is added to the components in .aegis.toml: worker[arq] requires it" in n for n in r.notes)
    ref = make_project(tmp_path / "ref", "worker,scheduler")
    mine, want = files(proj), files(ref)
    assert {p for p in set(mine) | set(want) if mine.get(p) != want.get(p)} <= {".env", ANSWERS_FILE}
    assert 'pulled_in = ["cache"]' in (proj / ANSWERS_FILE).read_text()
    r = remove("worker", proj)                                               # the cache goes with what needed it
    assert r.status == "applied" and not r.conflicts and "cache" not in (proj / ANSWERS_FILE).read_text(), str(r)
    assert not (proj / "shop/components/cache").exists()


def test_update_writes_a_requirement_the_answers_file_does_not_list(tmp_path):
    proj = make_project(tmp_path)
    _set_components(proj, '["worker[arq]"]'); commit(proj, "worker by hand")
    r = update(proj)
    assert r.status == "applied" and any("cache is added" in n for n in r.notes), str(r)
    assert update(proj).status == "nothing to do" and status(proj) == b""
    text = (proj / ANSWERS_FILE).read_text()
    assert 'components = ["cache", "worker[arq]"]' in text and 'pulled_in = ["cache"]' in text


def test_a_component_pulled_in_for_one_removed_by_hand_stays_as_its_own(tmp_path):
    proj = make_project(tmp_path, "scheduler")
    assert add("worker", proj).status == "applied"                           # pulls in the cache
    _set_components(proj, '["cache", "scheduler[memory]"]'); commit(proj, "worker out, by hand")
    r = update(proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    assert any(n.startswith("cache stays, now as a component of its own") for n in r.notes), r.notes
    assert "pulled_in" not in (proj / ANSWERS_FILE).read_text()
    assert remove("scheduler", proj).status == "applied"                     # no longer taken with another's removal
    assert (proj / "shop/components/cache").is_dir()
    ref = make_project(tmp_path / "ref", "cache")
    mine, want = files(proj), files(ref)
    assert {p for p in set(mine) | set(want) if mine.get(p) != want.get(p)} <= {".env"}


def test_adding_a_component_that_was_pulled_in_makes_it_ones_own(tmp_path):
    proj = make_project(tmp_path)
    assert add("worker", proj).status == "applied"                           # pulls in the cache
    r = add("cache", proj)
    assert (r.status, r.action) == ("applied", "add cache"), str(r)          # it said "add nothing" and changed a file
    assert any("pulled in for another: now it is one of your own" in n for n in r.notes), r.notes
    assert remove("worker", proj).status == "applied"
    assert (proj / "shop/components/cache").is_dir()


def test_jupyter_checkpoints_do_not_block_a_change(tmp_path):
    proj = make_project(tmp_path)
    (proj / "notebooks/.ipynb_checkpoints").mkdir(parents=True)
    (proj / "notebooks/explore.ipynb").write_text("{}"); commit(proj, "a notebook")
    (proj / "notebooks/.ipynb_checkpoints/explore-checkpoint.ipynb").write_text("{}")   # Jupyter writes it on save
    assert add("cache", proj).status == "applied"


def test_branches_that_add_different_components_merged_by_git(tmp_path):
    proj = make_project(tmp_path)
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    for branch, comp in (("feat-cache", "cache"), ("feat-db", "database")):
        git(proj, "checkout", "-q", "-b", branch, main)
        assert add(comp, proj).status == "applied"
    git(proj, "checkout", "-q", main)
    git(proj, "merge", "-q", "feat-cache")
    git(proj, "merge", "-q", "feat-db", "-m", "merge", check=False)    # conflicts: the user keeps main's side...
    git(proj, "checkout", "--ours", ".")
    text = (proj / ANSWERS_FILE).read_text()                           # ...and lists both components by hand
    (proj / ANSWERS_FILE).write_text("\n".join('components = ["cache", "database[sqlite]"]' if l.startswith("components")
                                              else l for l in text.splitlines()) + "\n")
    commit(proj, "merged")
    r = update(proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    ref = make_project(tmp_path / "ref", "cache,database")
    mine, want = files(proj), files(ref)
    differ = {p for p in set(mine) | set(want) if mine.get(p) != want.get(p)}
    assert differ <= {".env", ANSWERS_FILE}                             # the answers file: in the user's order


def _set_components(proj, value: str):
    text = (proj / ANSWERS_FILE).read_text()
    lines = [l for l in text.splitlines() if not l.startswith(("<<<<<<<", "=======", ">>>>>>>", "components ="))]
    at = next(i for i, l in enumerate(lines) if l.startswith("python_version"))
    (proj / ANSWERS_FILE).write_text("\n".join(lines[:at + 1] + [f"components = {value}"] + lines[at + 1:]) + "\n")


def test_a_component_listed_by_hand_then_a_branch_merged(tmp_path):
    proj = make_project(tmp_path)
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("cache", proj).status == "applied"
    git(proj, "checkout", "-q", main)
    _set_components(proj, '["database"]'); commit(proj, "database, by hand")
    git(proj, "merge", "-q", "feat", "-m", "merge feat", check=False)    # only .aegis.toml conflicts
    _set_components(proj, '["database", "cache"]'); commit(proj, "merged")
    r = update(proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    import yaml
    yaml.safe_load((proj / "docker-compose.yml").read_text())           # redis once, not twice (it was invalid)
    ref = make_project(tmp_path / "ref", "cache,database")
    mine, want = files(proj), files(ref)
    assert {p for p in set(mine) | set(want) if mine.get(p) != want.get(p)} <= {".env", ANSWERS_FILE}


def test_branches_merged_keeping_both_sides_are_not_added_twice(tmp_path):
    proj = make_project(tmp_path)
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    for branch, comp in (("c", "cache"), ("d", "database")):
        git(proj, "checkout", "-q", "-b", branch, main); assert add(comp, proj).status == "applied"
    git(proj, "checkout", "-q", main); git(proj, "merge", "-q", "c")
    git(proj, "merge", "-q", "d", "-m", "merge d", check=False)
    for f in git(proj, "diff", "--name-only", "--diff-filter=U").stdout.decode().split():   # "accept both"
        text = (proj / f).read_bytes().splitlines(True)
        (proj / f).write_bytes(b"".join(l for l in text if not l.startswith((b"<<<<<<< ", b"=======", b">>>>>>> "))))
    _set_components(proj, '["cache", "database"]'); commit(proj, "merged, both sides kept")
    import yaml
    with pytest.raises(yaml.YAMLError): yaml.safe_load((proj / "docker-compose.yml").read_text())   # both sides' lines
    (proj / "shop/notes.py").write_text("# mine\n"); text = (proj / "shop/settings.py").read_text()
    (proj / "shop/settings.py").write_text(text.replace("class Settings", "# my comment\nclass Settings", 1))
    commit(proj, "my edits")
    r = update(proj)                                 # the joined lines put in the order aegis writes them
    assert r.status == "applied" and not r.conflicts, str(r)
    assert (proj / "shop/health/registry.py").read_text().count('Check("database"') == 1   # nothing added twice
    assert _same_as_init(tmp_path, proj, "cache,database") == {"shop/notes.py", "shop/settings.py"}
    assert "# my comment\nclass Settings" in (proj / "shop/settings.py").read_text()       # the user's edits stay
    assert update(proj).status == "nothing to do"


def _keep_both_sides(proj):
    "Resolve every conflicted file as 'accept both' does: the markers go, both sides' lines stay."
    for f in git(proj, "diff", "--name-only", "--diff-filter=U").stdout.decode().split():
        text = (proj / f).read_bytes().splitlines(True)
        (proj / f).write_bytes(b"".join(l for l in text if not l.startswith((b"<<<<<<< ", b"=======", b">>>>>>> "))))


def _same_as_init(tmp_path, proj, selection):
    ref = make_project(tmp_path / f"ref-{selection}", selection)
    mine, want = files(proj), files(ref)
    return {p for p in set(mine) | set(want) if mine.get(p) != want.get(p)} - {".env", ANSWERS_FILE}


def _two_branches(proj):
    "main adds cache, feat adds database, both from the same start."
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("database", proj).status == "applied"
    git(proj, "checkout", "-q", main); assert add("cache", proj).status == "applied"
    return main


def test_after_a_merge_kept_both_remove_takes_the_component_out_everywhere(tmp_path):
    proj = make_project(tmp_path); _two_branches(proj)
    git(proj, "merge", "-q", "feat", "-m", "merge feat", check=False); _keep_both_sides(proj)
    _set_components(proj, '["cache", "database"]'); commit(proj, "merged, both sides kept")
    r = remove("cache", proj)                        # it left the cache's settings and dependency behind
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "database") == set()


@pytest.mark.parametrize("how", ["rebase", "cherry-pick"])
def test_an_aegis_commit_moved_by_a_rebase_is_not_applied_twice(tmp_path, how):
    proj = make_project(tmp_path); main = _two_branches(proj)
    if how == "rebase": git(proj, "checkout", "-q", "feat"); git(proj, "rebase", main, check=False)
    else: git(proj, "cherry-pick", "feat", check=False)
    _keep_both_sides(proj); _set_components(proj, '["cache", "database"]'); git(proj, "add", "-A")
    if how == "rebase": git(proj, "-c", "core.editor=true", "rebase", "--continue")
    else: git(proj, "-c", "core.editor=true", "cherry-pick", "--continue")
    assert git(proj, "log", "-1", "--format=%s").stdout.strip() == b"aegis: add database[sqlite]"
    r = update(proj)                                 # it added the database's lines a second time
    assert r.status == "applied" and not r.conflicts, str(r)
    assert (proj / "shop/health/registry.py").read_text().count('Check("database"') == 1
    assert _same_as_init(tmp_path, proj, "cache,database") == set()
    assert remove("cache", proj).status == "applied" and _same_as_init(tmp_path, proj, "database") == set()

def _phony_edit(proj):
    mk = (proj / "Makefile").read_bytes()
    (proj / "Makefile").write_bytes(mk.replace(b".PHONY: help", b".PHONY: mine help", 1)); commit(proj, "mine")


def _unmark(path):
    text = path.read_bytes().splitlines(True)
    path.write_bytes(b"".join(l for l in text if not l.startswith((b"<<<<<<< ", b"=======", b">>>>>>> "))))


def test_a_merge_whose_answers_are_one_sides_is_still_joined(tmp_path):
    proj = make_project(tmp_path)
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("worker", proj).status == "applied"   # pulls in the cache
    git(proj, "checkout", "-q", main); assert add("cache", proj).status == "applied"
    git(proj, "merge", "-q", "feat", "-m", "merge feat", check=False); _keep_both_sides(proj)
    git(proj, "checkout", "--theirs", ANSWERS_FILE); commit(proj, "merged")  # the answers: feat's, as recorded there
    r = update(proj)                                  # it said 'nothing to do' and left lines twice (.PHONY, README)
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "worker") == set()


def _answers_components(proj) -> str:
    import tomllib
    return ",".join(tomllib.loads((proj / ANSWERS_FILE).read_text())["components"])


@pytest.mark.parametrize("strategy", ["ours", "theirs"])
def test_a_merge_settled_by_one_side_leaves_nothing_of_the_other(tmp_path, strategy):
    proj = make_project(tmp_path, "cache")
    main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("database[postgres]", proj).status == "applied"
    git(proj, "checkout", "-q", main); assert add("ingress", proj).status == "applied"
    git(proj, "merge", "-q", "-X", strategy, "feat", "-m", "merge")   # the answers file: one side's, byte for byte
    r = update(proj)                                  # it said 'nothing to do' (ours) or left ingress' lines (theirs)
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, _answers_components(proj)) == set()


@pytest.mark.parametrize("how", ["by hand", "git revert"])
def test_answers_set_back_to_an_earlier_selection_take_the_component_out(tmp_path, how):
    proj = make_project(tmp_path, "cache")
    assert add("ingress", proj).status == "applied"
    if how == "by hand": _set_components(proj, '["cache"]'); commit(proj, "no ingress")
    else: git(proj, "revert", "--no-edit", "HEAD")
    r = update(proj)                                  # by hand: it said 'nothing to do', every ingress line left
    assert r.status == ("applied" if how == "by hand" else "nothing to do") and not r.conflicts, str(r)   # the
    # revert took the files back already
    assert _same_as_init(tmp_path, proj, "cache") == set()


@pytest.mark.parametrize("edit", ["change", "delete"])
def test_an_edit_in_a_file_resolved_at_a_merge_stays_the_users(tmp_path, edit):
    proj = make_project(tmp_path, "cache"); main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("database", proj).status == "applied"
    git(proj, "checkout", "-q", main); assert add("observability", proj).status == "applied"
    m = proj / "shop/main.py"; text = m.read_text()
    assert "\napp = create_app()\n" in text and "\n    uvicorn shop.main:app\n" in text
    m.write_text(text.replace("\napp = create_app()\n", "\napp = create_app()  # mine\n") if edit == "change"
                 else text.replace("\n    uvicorn shop.main:app\n", "\n"))
    commit(proj, "my edit")
    git(proj, "merge", "-q", "feat", "-m", "merge", check=False); _keep_both_sides(proj)
    _set_components(proj, '["database[sqlite]", "cache", "observability"]'); commit(proj, "merged")
    r = update(proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    text = m.read_text()                              # it added the line back under mine, or put the deleted one back
    if edit == "change": assert text.count("app = create_app()") == 1 and "app = create_app()  # mine" in text
    else: assert "uvicorn shop.main:app" not in text
    assert _same_as_init(tmp_path, proj, "database,cache,observability") == {"shop/main.py"}


def test_a_squash_merge_of_an_aegis_commit_is_not_applied_twice(tmp_path):
    proj = make_project(tmp_path, "cache"); main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("scheduler[memory]", proj).status == "applied"
    git(proj, "checkout", "-q", main); assert add("observability", proj).status == "applied"
    git(proj, "merge", "-q", "--squash", "feat", check=False); _keep_both_sides(proj)
    _set_components(proj, '["cache", "observability", "scheduler[memory]"]'); git(proj, "add", "-A")
    git(proj, "-c", "core.editor=true", "commit", "-q", "--no-edit")   # git's message quotes the trailer, indented
    r = update(proj)                                  # the scheduler's lines came twice
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "cache,observability,scheduler[memory]") == set()


def test_a_rebase_of_two_aegis_commits_resolved_both_ways(tmp_path):
    proj = make_project(tmp_path, "cache"); main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat")
    assert add("observability", proj).status == "applied" and add("database", proj).status == "applied"
    git(proj, "checkout", "-q", main); assert add("worker", proj).status == "applied"
    git(proj, "checkout", "-q", "feat"); git(proj, "rebase", main, check=False)
    for _ in range(3):                                # each replayed commit: accept both, the answers made whole
        if not git(proj, "diff", "--name-only", "--diff-filter=U").stdout: break
        _keep_both_sides(proj)
        _set_components(proj, '["database[sqlite]", "cache", "observability", "worker[arq]"]' if
                        b"database" in (proj / ANSWERS_FILE).read_bytes() else '["cache", "observability", "worker[arq]"]')
        git(proj, "add", "-A"); git(proj, "-c", "core.editor=true", "rebase", "--continue", check=False)
    r = update(proj)                                  # a needless conflict, and logfire's old extras line left
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "database,cache,observability,worker") == set()


def test_a_merge_base_older_than_the_first_page_of_history(tmp_path):
    proj = make_project(tmp_path, "cache"); main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "feat"); assert add("database", proj).status == "applied"
    git(proj, "checkout", "-q", main)
    stream = [f"reset refs/heads/{main}\nfrom refs/heads/{main}^0\n"]
    for i in range(2100):                             # 2100 commits of the user's work since the branches parted
        data, msg = f"note {i}\n", f"work {i}"
        stream.append(f"commit refs/heads/{main}\ncommitter T <t@e> {1700000000 + i} +0000\ndata {len(msg)}\n{msg}\n"
                      f"M 100644 inline notes/n{i % 50}.txt\ndata {len(data)}\n{data}\n")
    git(proj, "fast-import", "--quiet", input="".join(stream).encode()); git(proj, "reset", "-q", "--hard", main)
    assert add("observability", proj).status == "applied"
    git(proj, "merge", "-q", "feat", "-m", "merge", check=False); _keep_both_sides(proj)
    _set_components(proj, '["database[sqlite]", "cache", "observability"]'); commit(proj, "merged")
    r = update(proj)                                  # past 2000 commits it gave up and added the database twice
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "database,cache,observability") == {f"notes/n{i}.txt" for i in range(50)}


def test_an_octopus_merge_joins_every_parent(tmp_path):
    proj = make_project(tmp_path, "database"); main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    git(proj, "checkout", "-q", "-b", "docs"); (proj / "docs").mkdir(); (proj / "docs/n.md").write_text("x\n")
    commit(proj, "docs")
    git(proj, "checkout", "-q", main); git(proj, "checkout", "-q", "-b", "feat"); assert add("cache", proj).status == "applied"
    git(proj, "checkout", "-q", main); git(proj, "merge", "-q", "--no-edit", "docs", "feat")   # three parents
    assert remove("cache", proj).status == "applied"                     # it said 'nothing to do'
    assert _same_as_init(tmp_path, proj, "database") == {"docs/n.md"}


def test_a_component_listed_by_hand_then_removed_leaves_the_answers_right(tmp_path):
    proj = make_project(tmp_path, "database")
    _set_components(proj, '["database[sqlite]", "cache"]'); commit(proj, "want cache")
    r = remove("cache", proj)                         # it said 'nothing to do' and the file still listed the cache
    assert r.status == "applied" and _answers_components(proj) == "database[sqlite]"
    assert update(proj).status == "nothing to do" and _same_as_init(tmp_path, proj, "database") == set()


def test_a_change_left_uncommitted_then_committed_in_pieces(tmp_path):
    proj = make_project(tmp_path, "database")
    assert add("cache", proj, commit=False).status == "applied"
    git(proj, "commit", "-q", "-m", "answers", "--", ANSWERS_FILE); commit(proj, "the code")   # two commits of the user's
    assert update(proj).status == "nothing to do"     # it would have added the cache's lines again
    assert remove("cache", proj).status == "applied" and _same_as_init(tmp_path, proj, "database") == set()


def test_a_reset_then_a_component_listed_by_hand_with_other_edits(tmp_path):
    proj = make_project(tmp_path, "database")
    assert add("cache", proj).status == "applied"; git(proj, "reset", "-q", "--hard", "HEAD~1")
    _set_components(proj, '["database[sqlite]", "cache"]')
    with open(proj / "README.md", "a") as f: f.write("# mine\n")
    commit(proj, "cache, and a line of mine")
    assert update(proj).status == "applied"           # it said 'nothing to do': taken for aegis' own change
    assert _same_as_init(tmp_path, proj, "database,cache") == {"README.md"}


def test_a_clone_without_aegis_refs_follows_a_hand_edit(tmp_path):
    proj = make_project(tmp_path, "database"); assert add("cache", proj).status == "applied"
    clone = tmp_path / "clone"; git(tmp_path, "clone", "-q", f"file://{proj}", str(clone))
    _set_components(clone, '["database[sqlite]", "cache", "ingress"]'); commit(clone, "ingress, by hand")
    assert update(clone).status == "applied"          # it said 'nothing to do' and recorded that render
    assert _same_as_init(tmp_path, clone, "database,cache,ingress") == set()


def test_aegis_commits_squashed_oldest_first(tmp_path):
    proj = make_project(tmp_path, "database")
    assert add("scheduler", proj).status == "applied" and add("cache", proj).status == "applied"
    msg = git(proj, "log", "--reverse", "--format=%B", "HEAD~2..HEAD").stdout.decode()   # as rebase -i squashes
    git(proj, "reset", "-q", "--soft", "HEAD~2"); git(proj, "commit", "-q", "-m", msg)
    r = remove("scheduler", proj)                     # it conflicted on docker-compose.yml, never touched
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "database,cache") == set()


def test_two_projects_in_one_repository_keep_their_histories_apart(tmp_path):
    mono = tmp_path / "mono"; mono.mkdir(); git(mono, "init", "-q")
    alpha, beta = make_project(mono, "database", git=False, folder="alpha"), make_project(mono, "database", git=False, folder="beta")
    commit(mono, "two projects")
    assert add("cache", alpha).status == "applied"
    r = add("scheduler", beta)                        # alpha's render was joined into beta's base: 4 conflicts
    assert r.status == "applied" and not r.conflicts, str(r)


@pytest.mark.parametrize("then", ["add", "remove"])
def test_a_revert_of_an_aegis_commit_is_that_change_taken_back(tmp_path, then):
    proj = make_project(tmp_path)
    assert add("ingress", proj).status == "applied"
    if then == "remove": assert remove("ingress", proj).status == "applied"
    git(proj, "revert", "--no-edit", "HEAD")
    r = add("ingress", proj) if then == "add" else remove("ingress", proj)   # it changed only .aegis.toml (add) or
    assert r.status == "applied" and not r.conflicts, str(r)                # left every line of ingress (remove)
    assert _same_as_init(tmp_path, proj, "ingress" if then == "add" else "") == set()


def test_a_merge_resolved_to_what_init_writes_is_taken_as_that(tmp_path):
    proj = make_project(tmp_path); main = git(proj, "rev-parse", "--abbrev-ref", "HEAD").stdout.decode().strip()
    ref = make_project(tmp_path / "ref", "cache,database")
    git(proj, "checkout", "-q", "-b", "feat"); assert add("cache", proj).status == "applied"
    git(proj, "checkout", "-q", main); assert add("database", proj).status == "applied"
    git(proj, "merge", "-q", "feat", "-m", "merge", check=False)
    for f in git(proj, "diff", "--name-only", "--diff-filter=U").stdout.decode().split():
        (proj / f).write_bytes((ref / f).read_bytes())                   # resolved by copying a fresh init's files
    commit(proj, "merged")
    r = add("observability", proj)                    # README and Makefile conflicted
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "cache,database,observability") == set()


def test_the_users_git_identity_from_the_environment_signs_aegis_commits(tmp_path, monkeypatch):
    proj = make_project(tmp_path)
    cfg = tmp_path / "gitconfig"; cfg.write_text("[user]\n\tname = From Env\n\temail = env@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    assert add("cache", proj).status == "applied"     # GIT_* variables were all dropped: ~/.gitconfig's or aegis'
    assert git(proj, "log", "-1", "--format=%an <%ae>").stdout.decode().strip() == "From Env <env@example.com>"


def test_changes_in_two_worktrees_stay_apart(tmp_path):
    proj = make_project(tmp_path); _phony_edit(proj)
    wt = tmp_path / "wt"
    git(proj, "worktree", "add", "-q", str(wt), "-b", "feat")
    assert add("cache", proj).status == "pending"                       # the Makefile conflicts here...
    assert add("database", wt).status == "pending"                      # ...and there: both pending at once
    assert abort(wt).status == "aborted" and status(wt) == b""          # it wiped out the other's pending change
    assert add("scheduler", wt).status == "pending"; _unmark(wt / "Makefile")
    assert continue_(wt).status == "continued"
    _unmark(proj / "Makefile")
    assert continue_(proj).status == "continued" and status(proj) == b""   # it failed: cannot lock the shared ref
    assert update(proj).status == "nothing to do" and update(wt).status == "nothing to do"
    assert remove("cache", proj).status == "applied" and remove("scheduler", wt).status == "applied"


def test_a_branch_changed_in_another_worktree_merges_without_twice(tmp_path):
    proj = make_project(tmp_path)
    wt = tmp_path / "wt"
    git(proj, "worktree", "add", "-q", str(wt), "-b", "feat")
    assert add("database", wt).status == "applied"                      # rendered there: a render main never saw
    assert add("cache", proj).status == "applied"
    git(proj, "merge", "-q", "feat", "-m", "merge feat", check=False); _keep_both_sides(proj)
    _set_components(proj, '["cache", "database"]'); commit(proj, "merged")
    r = update(proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    assert _same_as_init(tmp_path, proj, "cache,database") == set()
    assert remove("database", proj).status == "applied" and _same_as_init(tmp_path, proj, "cache") == set()


@pytest.mark.parametrize("how", ["git rm", "git add"])
def test_continue_accepts_a_conflict_resolved_in_the_index(proj, side, how):
    (proj / "app/a.py").unlink(); commit(proj, "no a.py")
    side.files["app/a.py"] = LINES + b"aegis'\n"
    r = update(proj, renderer=side)
    assert r.status == "pending" and "deleted by you" in str(r.conflicts[0])
    if how == "git rm": git(proj, "rm", "-q", "--cached", "--ignore-unmatch", "app/a.py")
    else:
        (proj / "app/a.py").write_bytes(LINES + b"mine and aegis'\n"); git(proj, "add", "app/a.py")
        (proj / "app/a.py").write_bytes(LINES + b"mine and aegis'\n# DEBUG, unstaged\n")
    assert continue_(proj).status == "continued"
    shown = git(proj, "show", "HEAD:app/a.py", check=False)
    if how == "git rm": assert shown.returncode != 0 and not (proj / "app/a.py").exists()
    else: assert shown.stdout == LINES + b"mine and aegis'\n"           # the staged resolution, not the later line


def _pending_on_the_makefile(proj, comp):
    "A change left pending by a conflict in the Makefile (the user edited its .PHONY line, as the change does)."
    mk = (proj / "Makefile").read_text()
    (proj / "Makefile").write_text(mk.replace(".PHONY: help", ".PHONY: mine help", 1)); commit(proj)
    r = add(comp, proj)
    assert r.status == "pending" and [c.path for c in r.conflicts] == ["Makefile"], str(r)
    mine = [l for l in (proj / "Makefile").read_text().splitlines() if l.startswith(".PHONY: mine")][0]
    body = [l for l in (proj / "Makefile").read_text().splitlines(True) if not l.startswith(("<<<<<<<", "=======", ">>>>>>>"))]
    (proj / "Makefile").write_text("".join(l for l in body if not l.startswith(".PHONY") or l.startswith(mine)))


def test_continue_refuses_a_resolved_answers_file_that_lost_the_change(tmp_path):
    proj = make_project(tmp_path)
    text = (proj / ANSWERS_FILE).read_text()
    _pending_on_the_makefile(proj, "scheduler")
    (proj / ANSWERS_FILE).write_text(text); git(proj, "add", ANSWERS_FILE)   # the answers put back as before the change
    with pytest.raises(AegisError, match="the resolved .aegis.toml lists components the change does not make \\(none; "
                                         "it makes scheduler\\[memory\\]\\)"):
        continue_(proj)
    (proj / ANSWERS_FILE).write_text(text.replace("components = []", 'components = []\ncomponents = ["scheduler"]'))
    git(proj, "add", ANSWERS_FILE)
    with pytest.raises(AegisError, match="the resolved .aegis.toml cannot be read: resolve it to aegis' side"):
        continue_(proj)
    (proj / ANSWERS_FILE).write_text(text.replace("components = []", '# my comment stays\ncomponents = ["scheduler[memory]"]'))
    git(proj, "add", ANSWERS_FILE)
    assert continue_(proj).status == "continued"
    remove("scheduler", proj)                                           # (the Makefile's .PHONY line conflicts again)
    assert "# my comment stays" in (proj / ANSWERS_FILE).read_text()


def test_continue_checks_the_answers_file_it_will_commit(tmp_path):
    proj = make_project(tmp_path, "cache")
    _pending_on_the_makefile(proj, "worker")
    git(proj, "checkout", "HEAD", "--", ANSWERS_FILE)                   # staged as before the change: worker lost
    _set_components(proj, '["worker[arq]", "cache"]')                   # fixed on disk, not staged
    with pytest.raises(AegisError, match="lists components the change does not make \\(cache; it makes cache,worker"):
        continue_(proj)
    git(proj, "add", ANSWERS_FILE)
    assert continue_(proj).status == "continued"
    assert b"worker[arq]" in git(proj, "show", f"HEAD:{ANSWERS_FILE}").stdout


def test_a_reformatted_answers_file_keeps_its_layout_through_add_and_remove(tmp_path):
    proj = make_project(tmp_path, "cache")
    mine = ('# my project, the answers aegis works from\npython_version = "3.11"\nname = "shop"   # the shop\n'
            'components = [\n  "cache",  # redis for sessions\n]\naegis_version = "%s"\n') % __import__("aegis").__version__
    (proj / ANSWERS_FILE).write_text(mine); commit(proj, "my layout")
    r = add("worker", proj)
    assert r.status == "applied" and not r.conflicts, str(r)
    assert (proj / ANSWERS_FILE).read_text() == mine.replace('  "cache",  # redis for sessions\n',
                                                             '  "cache",  # redis for sessions\n  "worker[arq]",\n')
    assert remove("worker", proj).status == "applied"
    assert (proj / ANSWERS_FILE).read_text() == mine


def test_continue_refuses_on_another_branch(proj, side):
    _pending_with_clean_b(proj, side)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved")); git(proj, "add", "app/a.py")
    git(proj, "stash", "-q")
    git(proj, "checkout", "-q", "-b", "other", "HEAD~1")
    with pytest.raises(AegisError, match="on another branch or commit than the one the change was applied to"):
        continue_(proj)


def test_a_pending_change_in_a_project_inside_a_larger_repository(tmp_path):
    mono = tmp_path / "mono"; mono.mkdir(); git(mono, "init", "-q")
    side = Side({"app/a.py": LINES, "app/b.py": LINES})
    proj = make_project(mono / "services", folder="api", git=False, renderer=side)
    commit(mono, "the api service")
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine")); commit(mono)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")
    side.files["app/b.py"] = edit_line(LINES, 10, b"aegis' 10")
    assert update(proj, renderer=side).status == "pending"
    (proj / "app/b.py").write_bytes(edit_line(LINES, 10, b"aegis' 10, mine"))
    with pytest.raises(AegisError, match="git restore app/b.py"):       # the index knows the path from here
        abort(proj)
    git(proj, "restore", "app/b.py")
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"resolved")); git(proj, "add", "app/a.py")
    assert continue_(proj).status == "continued"
    assert git(mono, "show", "HEAD:services/api/app/a.py").stdout == edit_line(LINES, 5, b"resolved")
    assert git(mono, "status", "--porcelain").stdout == b""

def test_a_component_named_twice_is_said_once(tmp_path):
    proj = make_project(tmp_path, "cache")
    r = add("cache,cache", proj)
    assert r.status == "nothing to do" and r.notes == ["cache is already in the project"]


def test_the_current_folder_removed_under_a_cell(tmp_path, monkeypatch):
    gone = tmp_path / "gone"; gone.mkdir()
    monkeypatch.chdir(gone); gone.rmdir()
    with pytest.raises(AegisError, match="the current folder no longer exists: cd into the project, or pass its path"):
        add("cache")


@pytest.mark.parametrize("line,says", [('python_version = "3.9"', "python_version '3.9' is not supported"),
                                       ("python_version = 3.12", "python_version 3.12 is not supported"),
                                       ("components = [1]", "components must be a list of names"),
                                       ('components = ["cache", "worker[nope]"]', "unknown option 'nope' for worker")])
def test_a_bad_hand_edit_of_the_answers_file_is_one_line(tmp_path, line, says):
    proj = make_project(tmp_path)
    key = line.split(" =")[0]
    text = (proj / ANSWERS_FILE).read_text()
    (proj / ANSWERS_FILE).write_text("\n".join(line if l.startswith(key + " =") else l for l in text.splitlines()) + "\n")
    commit(proj, "hand edit")
    before = state(proj)
    res = cli("update", "-p", proj)
    assert res.returncode == 2 and says in res.stderr and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert ANSWERS_FILE in res.stderr and state(proj) == before

def test_refusal_not_an_aegis_project(tmp_path):
    res = cli("add", "cache", "-p", tmp_path)
    assert res.returncode == 2 and "is not inside an aegis project" in res.stderr


def test_refusal_dirty_tree(tmp_path):
    proj = make_project(tmp_path)
    (proj / "docker-compose.yml").write_text("changed\n")
    (proj / "untracked.py").write_text("x\n")
    before = state(proj)
    with pytest.raises(AegisError, match="uncommitted changes .*docker-compose.yml.*commit or stash"):
        add("cache", proj, available_only=False)
    assert state(proj) == before


def test_cli_conflict_exit_1_then_abort(proj, side, tmp_path):
    res = cli("update", "--abort", "-p", proj)
    assert res.returncode == 2 and "nothing to abort" in res.stderr
    (proj / ANSWERS_FILE).write_text((proj / ANSWERS_FILE).read_text() + "# my comment\n")
    (proj / "app/a.py").write_bytes(edit_line(LINES, 5, b"mine"))
    commit(proj)
    before = state(proj)
    side.files["app/a.py"] = edit_line(LINES, 5, b"aegis'")              # the same line: a real conflict
    r = update(proj, renderer=side)
    assert r.status == "pending" and r.exit_code == 1
    res = cli("remove", "--abort", "-p", proj)
    assert res.returncode == 0 and "aborted" in res.stdout
    assert state(proj) == before


def test_project_found_from_a_subfolder(proj, monkeypatch):
    monkeypatch.chdir(proj / "app")
    assert add("cache", available_only=False).status == "applied"
    assert "redis" in (proj / "docker-compose.yml").read_text()


def test_project_without_git(tmp_path):
    side = Side({"app/a.py": LINES})
    proj = make_project(tmp_path, git=False, renderer=side)
    assert not locate(proj).has_repo and (proj / ".aegis/.gitignore").read_text().endswith("*\n")
    (proj / "app/a.py").write_bytes(edit_line(LINES, 4, b"mine"))
    (proj / "notes.md").write_text("my notes\n")
    r = add("cache", proj, available_only=False, renderer=side)
    assert r.status == "applied" and "redis" in (proj / "docker-compose.yml").read_text()
    assert (proj / "app/a.py").read_bytes() == edit_line(LINES, 4, b"mine")
    side.files["app/a.py"] = edit_line(LINES, 4, b"aegis'")
    before = state(proj)
    r = update(proj, renderer=side)
    assert r.status == "pending" and "<<<<<<< your project" in (proj / "app/a.py").read_text()
    abort(proj)
    assert state(proj) == before
    r = update(proj, renderer=side)
    (proj / "app/a.py").write_bytes(edit_line(LINES, 4, b"both"))
    assert continue_(proj).status == "continued"
    assert update(proj, renderer=side).status == "nothing to do"
    assert remove("cache", proj, renderer=side).status == "applied"
    assert "redis" not in (proj / "docker-compose.yml").read_text()


def test_project_made_by_aegis_init(tmp_path):
    "The integrator's init records the pristine render: evolve finds it."
    from aegis.project import init
    p = init("Real Shop", output_dir=tmp_path)
    place = locate(p.path)
    assert git(p.path, "rev-parse", "--verify", place.ref("pristine")).returncode == 0
    assert update(p.path).status == "nothing to do"
    mono = tmp_path / "mono"; mono.mkdir(); git(mono, "init", "-q")
    p2 = init("Inner", output_dir=mono / "svc")
    place2 = locate(p2.path)
    assert place2.top == mono.resolve()
    assert git(mono, "rev-parse", "--verify", place2.ref("pristine")).returncode == 0


def test_result_views(proj, side):
    side.files["app/a.py"] = LINES + b"x\n"
    r = update(proj, renderer=side, dry_run=True)
    from rich.console import Console
    con = Console(record=True, width=100)
    con.print(r)
    out = con.export_text()
    assert "dry run" in out and "app/a.py" in out and "+x" in out
    assert "<table>" in r._repr_html_()


def test_renamed_file_gets_aegis_change_under_its_new_name(proj, side):
    mine = edit_line(LINES, 2, b"mine")
    (proj / "app/a.py").rename(proj / "app/renamed.py")
    (proj / "app/renamed.py").write_bytes(mine)
    commit(proj)
    side.files["app/a.py"] = edit_line(LINES, 10, b"aegis'")
    r = update(proj, renderer=side)
    assert r.status == "applied", str(r)
    assert not (proj / "app/a.py").exists()
    assert (proj / "app/renamed.py").read_bytes() == edit_line(mine, 10, b"aegis'")


def test_dry_run_on_a_project_with_no_git_and_no_record(tmp_path):
    from aegis.evolve import write_tree
    from aegis.render import render
    from test_evolve_support import answers_for
    root = tmp_path / "bare"; root.mkdir()
    write_tree(root, render(answers_for("")))
    r = add("cache", root, dry_run=True, available_only=False)
    assert r.status == "dry run" and "+  redis:" in r.diff
    assert not (root / ".aegis").exists()                               # a dry run creates nothing, not even the store
    r = add("cache", root, available_only=False)                        # base: the render of the recorded answers
    assert r.status == "applied" and any("no recorded pristine render" in n for n in r.notes)
    r = add("observability", root, available_only=False)                # now the pristine render is recorded
    assert r.status == "applied" and not any("no recorded pristine render" in n for n in r.notes)


def test_two_changes_at_once_the_second_is_refused(proj):
    from aegis.merge import locked
    before = state(proj)
    with locked(locate(proj)):                                          # another process is applying a change
        with pytest.raises(AegisError, match="another aegis change is running"):
            add("cache", proj, available_only=False)
    assert state(proj) == before
    assert add("cache", proj, available_only=False).status == "applied"


def test_init_without_git_records_in_a_private_store(tmp_path):
    from aegis.project import init
    p = init("No Git", output_dir=tmp_path, git=False)
    place = locate(p.path)
    assert not place.has_repo and (p.path / ".aegis/store/HEAD").exists()
    assert update(p.path).status == "nothing to do"
    assert add("cache", p.path, available_only=False).status == "applied"
    assert remove("cache", p.path).status == "applied"


def test_update_from_an_older_aegis_version(tmp_path):
    "A project recorded by an older aegis: update rewrites what this version renders differently, keeps edits."
    from aegis import __version__
    old_side = Side({"app/a.py": LINES})
    proj = make_project(tmp_path, renderer=lambda a: old_side({**a, "aegis_version": "0.0.1"}))
    assert 'aegis_version = "0.0.1"' in (proj / ANSWERS_FILE).read_text()
    (proj / "app/a.py").write_bytes(edit_line(LINES, 1, b"mine"))
    commit(proj)
    new_side = Side({"app/a.py": edit_line(LINES, 12, b"new in this version")})
    r = update(proj, renderer=new_side)
    assert r.status == "applied" and r.action == f"update from aegis 0.0.1 to {__version__}"
    assert f'aegis_version = "{__version__}"' in (proj / ANSWERS_FILE).read_text()
    assert (proj / "app/a.py").read_bytes() == edit_line(edit_line(LINES, 1, b"mine"), 12, b"new in this version")
    assert update(proj, renderer=new_side).status == "nothing to do"


def test_update_says_when_the_recorded_version_was_edited_by_hand(proj, side):
    from aegis import __version__
    text = (proj / ANSWERS_FILE).read_text()
    (proj / ANSWERS_FILE).write_text(text.replace(f'aegis_version = "{__version__}"', 'aegis_version = "0.0.1"'))
    commit(proj)
    r = update(proj, renderer=side)
    assert r.status == "nothing to do" and r.exit_code == 0
    assert any("says aegis_version = '0.0.1'" in n and f"set it back to '{__version__}'" in n for n in r.notes)
    assert 'aegis_version = "0.0.1"' in (proj / ANSWERS_FILE).read_text()     # the user's edit, left alone


def test_project_that_gets_git_later_keeps_its_recorded_base(tmp_path):
    side = Side({"app/a.py": LINES})
    proj = make_project(tmp_path, git=False, renderer=side)            # recorded in .aegis/store
    (proj / "app/a.py").write_bytes(edit_line(LINES, 2, b"mine"))
    from test_evolve_support import git_init
    git_init(proj)                                                      # the user starts using git
    assert git(proj, "ls-files", ".aegis").stdout == b""                # the private store stays out of history
    side.files["app/a.py"] = edit_line(LINES, 11, b"aegis v2")
    r = update(proj, renderer=side)
    assert r.status == "applied" and any(".aegis/store" in n for n in r.notes)
    assert (proj / "app/a.py").read_bytes() == edit_line(edit_line(LINES, 2, b"mine"), 11, b"aegis v2")


def test_symlink_made_by_the_user_is_never_overwritten(proj, side):
    (proj / "app/b.py").unlink()
    os.symlink("a.py", proj / "app/b.py")
    commit(proj)
    side.files["app/b.py"] = LINES + b"aegis\n"
    r = update(proj, renderer=side)
    assert r.status == "pending" and (proj / "app/b.py").is_symlink() and os.readlink(proj / "app/b.py") == "a.py"
    abort(proj)
    assert (proj / "app/b.py").is_symlink() and os.readlink(proj / "app/b.py") == "a.py"
    assert status(proj) == b""


def test_added_settings_are_reported_then_filled_on_request(tmp_path):
    "E15 keeps .env untouched by changes; `aegis up` then names what it lacks, and `aegis env --fill` appends only that."
    from aegis.compose import load
    from conftest import run_aegis
    from aegis.project import init
    p = init("Env Later", output_dir=tmp_path, git=True).path
    r = add("database[postgres]", p)
    note = next(n for n in r.notes if "POSTGRES_PASSWORD" in n)
    assert "aegis env --fill" in note
    before = (p / ".env").read_text()
    with pytest.raises(AegisError, match=r"\.env lacks POSTGRES_DB, POSTGRES_PASSWORD, POSTGRES_USER.*aegis env --fill"):
        load(p).require_env()
    assert run_aegis("env", "-p", str(p)).returncode == 1
    assert run_aegis("env", "--fill", "-p", str(p)).returncode == 0
    after = (p / ".env").read_text()
    assert after.startswith(before) and "POSTGRES_PASSWORD=" in after[len(before):]
    assert run_aegis("env", "-p", str(p)).returncode == 0
    load(p).require_env()
    # removing a component reports no "new" settings: none are new
    assert not [n for n in remove("database", p).notes if "new settings" in n]


def test_appending_where_aegis_appends_is_not_a_conflict(tmp_path):
    "The user appends a Makefile target and a README section; adding a component appends there too: both kept."
    from aegis.project import init
    p = init("Append Shop", output_dir=tmp_path).path
    mine_mk = "\nmine: ## my own target\n\techo mine\n"
    mine_md = "\n## Our deployment notes\n\nShip on Fridays.\n"
    with open(p / "Makefile", "a") as f: f.write(mine_mk)
    with open(p / "README.md", "a") as f: f.write(mine_md)
    commit(p)
    r = add("worker", p)
    assert r.status == "applied" and not r.conflicts, ([str(c) for c in r.conflicts], r.notes)
    mk, md = (p / "Makefile").read_text(), (p / "README.md").read_text()
    assert mine_mk in mk and "worker start" in mk and mine_md in md and "Background jobs" in md
    assert any(n.startswith("Makefile: you and aegis changed neighbouring lines") for n in r.notes), r.notes
    assert remove("worker", p).status == "applied"
    assert mine_mk in (p / "Makefile").read_text() and mine_md in (p / "README.md").read_text()


def test_a_dry_run_with_nothing_to_write_says_what_the_run_says(proj, side):
    (proj / "app/a.py").write_bytes(edit_line(LINES, 10, b"both")); commit(proj, "the user made aegis' next change")
    side.files["app/a.py"] = edit_line(LINES, 10, b"both")
    assert update(proj, renderer=side, dry_run=True).status == "nothing to do"   # it said '0 file(s) would change'
    assert update(proj, renderer=side).status == "nothing to do"

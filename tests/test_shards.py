"""`wcdl autograde --shard K/N` and `wcdl gather`: a class graded as 3 shards equals one run.

The class: three m01_2 submissions (full marks, untouched, one wrong exercise), one student whose
file is empty (scores zero without a kernel), one who handed in no notebook of the course, and a
folder that is no usable student id. Their pairs fall one in each of the 3 shards (the hash of the
pair decides; checked below). The single run and the shards run in separate processes; shard 2 is
killed as soon as it starts, so the first gather must name it, and the gather after its re-run
must equal the single run: grades.csv, grades_by_exercise.csv, rejected.csv, report.json and
every feedback file (up to the guard's one-time tokens, which differ between any two runs).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import core, shards
from tests.adversarial import LN_ANS, NB, WRONG, nb

MODULE = "01_matmul_is_all_you_need"
WCDL = os.path.join(os.path.dirname(sys.executable), "wcdl")
ARGS = ["--workers", "1", "--quiet", "--cell-timeout", "60"]

# student -> (submission bytes, its m01_2 points); ada, bea, cyd are in shards 3, 2, 1
GRADED = {"ada": (lambda: nb(), 4), "bea": (lambda: nb(solved=False), 0),
          "cyd": (lambda: nb(edit={LN_ANS: WRONG[LN_ANS]}), 2)}


def _write_class(subs: Path) -> None:
    for student, (build, _) in GRADED.items():
        (subs / student).mkdir(parents=True)
        (subs / student / f"{NB}.ipynb").write_bytes(build())
    (subs / "eve").mkdir()
    (subs / "eve" / f"{NB}.ipynb").write_bytes(b"")                 # scores zero, with a problem
    (subs / "fay").mkdir()
    (subs / "fay" / "notes.ipynb").write_bytes(nb())                # no notebook of the course: no pair
    (subs / "bad name").mkdir()
    (subs / "bad name" / f"{NB}.ipynb").write_bytes(nb())           # rejected


def _autograde(subs: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([WCDL, "autograde", str(subs), "--out", str(out), *ARGS, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _gather(final: Path, *folders: Path) -> subprocess.CompletedProcess:
    return subprocess.run([WCDL, "gather", *map(str, folders), "--out", str(final)],
                          capture_output=True, text=True, timeout=900)


def _finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=1800)
    assert proc.returncode == 0, err[-3000:]
    return out


# A failed visible test's traceback in the feedback shows the test's stub, with the one-time token
# the guard draws afresh for every run: two single runs of the same class differ there, and only there.
TOKEN = re.compile(rb'"[0-9a-f]{32}"')


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): TOKEN.sub(b'"TOKEN"', p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _journal(folder: Path) -> list[tuple[str, str]]:
    path = folder / "progress.jsonl"
    return [(e["student"], e["module"]) for e in map(json.loads, path.read_text().splitlines())] \
        if path.exists() else []


def test_three_shards_and_a_gather_equal_one_run(tmp_path):
    subs = tmp_path / "submissions"
    _write_class(subs)
    assert {s: shards.shard_of(s, MODULE, 3) for s in (*GRADED, "eve")} == \
        {"ada": 3, "bea": 2, "cyd": 1, "eve": 3}, "the class no longer covers every shard"
    single, final = tmp_path / "single", tmp_path / "final"
    folder = {k: tmp_path / f"shard-{k}" for k in (1, 2, 3)}

    runs = [_autograde(subs, single), _autograde(subs, folder[1], "--shard", "1/3"),
            _autograde(subs, folder[3], "--shard", "3/3")]
    # shard 2 fails: killed (its whole process group) as soon as it has started
    failed = _autograde(subs, folder[2], "--shard", "2/3")
    deadline = time.monotonic() + 300
    while not (folder[2] / shards.MANIFEST).exists():
        assert failed.poll() is None and time.monotonic() < deadline, failed.stderr.read()[-2000:]
        time.sleep(0.1)
    os.killpg(failed.pid, signal.SIGKILL)
    failed.communicate(timeout=120)
    for run in runs:
        _finish(run)

    # each shard graded exactly its pairs
    for k in (1, 3):
        manifest = json.loads((folder[k] / shards.MANIFEST).read_text())
        assert manifest["complete"] and (manifest["shard"], manifest["of"]) == (k, 3)
        expected = sorted([s, MODULE] for s in (*GRADED, "eve") if shards.shard_of(s, MODULE, 3) == k)
        assert manifest["pairs"] == expected
        assert sorted(_journal(folder[k])) == sorted(map(tuple, expected))

    # a failed shard and a missing one are named, with the command that runs them again; nothing written
    gathered = _gather(final, *folder.values())
    assert gathered.returncode == 1
    assert "shard 2/3" in gathered.stderr and "did not finish" in gathered.stderr, gathered.stderr
    assert "shard 1/3" not in gathered.stderr and "shard 3/3" not in gathered.stderr, gathered.stderr
    assert not final.exists()
    rerun = re.search(r"`(wcdl autograde [^`]*--shard 2/3[^`]*)`", gathered.stderr)
    assert rerun, gathered.stderr
    missing = _gather(final, folder[1], folder[3])
    assert missing.returncode == 1 and "shard 2/3: missing" in missing.stderr, missing.stderr
    assert not final.exists()

    # shard 2 again, by the command gather printed; shard 1 again: nothing to grade, nothing graded twice
    cmd = shlex.split(rerun.group(1))
    _finish(subprocess.Popen([WCDL, *cmd[1:]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    _finish(_autograde(subs, folder[1], "--shard", "1/3"))
    assert _journal(folder[1]) == [("cyd", MODULE)] and _journal(folder[2]) == [("bea", MODULE)]

    gathered = _gather(final, *folder.values())
    assert gathered.returncode == 0, gathered.stderr[-3000:]

    # the gathered course folder is the single run's
    for name in ("grades.csv", "grades_by_exercise.csv", "rejected.csv"):
        assert (final / name).read_text() == (single / name).read_text(), name
    assert json.loads((final / "report.json").read_text()) == json.loads((single / "report.json").read_text())
    fb_single, fb_final = _files(single / "feedback"), _files(final / "feedback")
    assert fb_final.keys() == fb_single.keys()
    for name in fb_single:
        assert fb_final[name] == fb_single[name], name
    assert f"{Path('cyd') / MODULE / NB}.html" in fb_final and "eve/problems.txt" in fb_final
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader((final / "grades.csv").open())}
    assert rows == {"ada": 4, "bea": 0, "cyd": 2, "eve": 0, "fay": 0}
    assert [r[0] for r in csv.reader((final / "rejected.csv").open())] == ["folder", ascii("bad name")]

    # one submission per graded pair in the gradebook (eve's file was refused: none), the formgrader's folders
    with core.gradebook(final) as gb:
        assert sorted(s.student.id for s in gb.find_assignment(MODULE).submissions) == sorted(GRADED)
        assert gb.find_submission(MODULE, "ada").score == 4
    for student in GRADED:
        assert (final / "autograded" / student / MODULE / f"{NB}.ipynb").is_file()
    assert sorted(_journal(final)) == sorted((s, MODULE) for s in (*GRADED, "eve"))

    # gathering again replaces the folder: the same result, nothing counted twice
    again = _gather(final, *folder.values())
    assert again.returncode == 0, again.stderr[-3000:]
    assert (final / "grades.csv").read_text() == (single / "grades.csv").read_text()
    with core.gradebook(final) as gb:
        assert len(gb.find_assignment(MODULE).submissions) == len(GRADED)


# ---------------------------------------------------------------- fast: assignment and gather's checks

def test_shard_assignment_is_a_stable_partition():
    pairs = [(f"s{i:04d}", m) for i in range(1500) for m in ("01_a", "02_b")]
    for n in (1, 2, 3, 8):
        counts = [0] * n
        for s, m in pairs:
            k = shards.shard_of(s, m, n)
            assert 1 <= k <= n and k == shards.shard_of(s, m, n)
            counts[k - 1] += 1
        assert sum(counts) == len(pairs)
        assert max(counts) < 1.15 * len(pairs) / n, counts       # about even, whatever the names
    # the order or the rest of the class does not matter: a pair's shard depends on the pair alone
    assert shards.shard_of("ada", MODULE, 3) == 3 and shards.shard_of("bea", MODULE, 3) == 2


@pytest.mark.parametrize("text", ["0/3", "4/3", "3", "a/b", "1/0", "-1/2"])
def test_bad_shard_arguments_are_refused(text, capsys):
    from grader.cli import main

    with pytest.raises(SystemExit) as e:
        main(["autograde", "submissions", "--shard", text])
    assert e.value.code == 2 and "--shard" in capsys.readouterr().err


def _started_shard(out: Path, k: int, n: int, students=("ada", "bea", "cyd", "dan")) -> None:
    """A shard's manifest as `wcdl autograde --shard` writes it before grading (no grading here)."""
    plan = {(s, MODULE): {NB: Path(f"/nowhere/{s}/{NB}.ipynb")} for s in students}
    shards.select(out, (k, n), plan, list(students), {})


def test_gather_names_missing_duplicate_unfinished_and_foreign_folders(tmp_path, capsys):
    from grader.cli import main

    a, b, c, empty = (tmp_path / x for x in ("a", "b", "c", "empty"))
    _started_shard(a, 1, 3)
    _started_shard(b, 1, 3)
    _started_shard(c, 3, 3)
    empty.mkdir()
    assert main(["gather", str(a), str(b), str(c), str(empty), "--out", str(tmp_path / "final")]) == 1
    err = capsys.readouterr().err
    assert f"shard 1/3 given twice: {a} and {b}" in err
    assert "shard 2/3: missing" in err and "--shard 2/3" in err
    assert f"shard 3/3 ({c}): did not finish (0 of" in err
    assert f"{empty}: no shard.json" in err
    assert "Nothing was written" in err and not (tmp_path / "final").exists()

    other = tmp_path / "other"
    _started_shard(other, 2, 2)
    assert main(["gather", str(a), str(other), "--out", str(tmp_path / "final")]) == 1
    assert "different splits" in capsys.readouterr().err

    # a shard that saw another class (a student added since) is named as the one to run again
    d = tmp_path / "d"
    time.sleep(0.01)
    _started_shard(d, 2, 3, students=("ada", "bea", "cyd", "dan", "eve"))
    assert main(["gather", str(a), str(d), str(c), "--out", str(tmp_path / "final")]) == 1
    err = capsys.readouterr().err
    assert "shard 1/3" in err and "saw other submissions" in err and "than shard 2/3" in err


def test_gather_refuses_an_output_folder_it_did_not_write(tmp_path, capsys):
    from grader.cli import main

    _started_shard(tmp_path / "a", 1, 1)
    mine = tmp_path / "precious"
    mine.mkdir()
    (mine / "thesis.tex").write_text("...")
    assert main(["gather", str(tmp_path / "a"), "--out", str(mine)]) == 1
    assert "holds something other than an earlier gather" in capsys.readouterr().err
    assert (mine / "thesis.tex").exists()


def test_gather_has_help():
    run = subprocess.run([WCDL, "gather", "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "usage: wcdl gather" in run.stdout


def test_the_shard_benchmark_runs(tmp_path):
    """`python -m grader.bench_shards` grades, gathers and prints a row per shard count; with one
    student and 2 shards, one shard has nothing to grade, and gathering it must still work.
    (The numbers are measurements for the README, not something to assert on a shared machine.)"""
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "grader.bench_shards", "--copies", "1", "--shards", "1", "2",
                           "--notebooks", "m03_4_fused_softmax", "--json", str(out)],
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["results"]
    assert [(r["shards"], r["notebooks"], sorted(r["pairs_per_shard"])) for r in rows] == [(1, 1, [1]), (2, 1, [0, 1])]
    assert all(r["shards_s"] > 0 and r["cpu_s"] > 0 for r in rows)

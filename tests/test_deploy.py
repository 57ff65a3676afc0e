"""deploy/: the Slurm job array and the Kubernetes Indexed Job that grade a class in shards.

- The manifests are checked against Kubernetes' own API schemas (kubernetes-validate, strict:
  no unknown field), and their shell commands are run here with a stand-in `wcdl`, to show
  which `--shard K/N`, folders and limits each completion index gets.
- The Slurm scripts likewise, with a stand-in `wcdl` and `apptainer`; and for real: a private
  single-node Slurm (deploy/slurm/single-node.sh, Debian's slurm-wlm) runs the array end to end:
  first shards 1 and 3 only, whose gather must fail naming shard 2, then the whole array again
  (finished shards resume at once), whose gather must give the class's grades.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from grader import core, shards
from tests.adversarial import NB
from tests.test_shards import GRADED, MODULE

DEPLOY = core.REPO / "deploy"
SLURM = DEPLOY / "slurm"
FAKE_WCDL = """#!/bin/sh
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
"""


def _fake(folder: Path, name: str = "wcdl") -> Path:
    """A stand-in program that prints its arguments as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(FAKE_WCDL)
    (folder / name).chmod(0o755)
    return folder


def _docs(name: str) -> list[dict]:
    return list(yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()))


def _container(doc: dict) -> dict:
    (container,) = doc["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container["env"]}


def _run_container_command(container: dict, env: dict, bindir: Path) -> list[str]:
    run = subprocess.run([*container["command"], *container["args"]], capture_output=True, text=True,
                         env={"PATH": f"{bindir}:/usr/bin:/bin", **env}, timeout=60)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


# ---------------------------------------------------------------- Kubernetes

@pytest.mark.parametrize("version", ["1.31.0", None])
def test_the_manifests_are_valid_kubernetes(version):
    import kubernetes_validate as kv
    version = version or kv.latest_version()
    for name in ("grade-job.yaml", "gather-job.yaml"):
        for doc in _docs(name):
            kv.validate(doc, version, strict=True)          # raises on an unknown field or a wrong type


def test_each_completion_index_grades_its_shard_with_limits(tmp_path):
    job, policy = _docs("grade-job.yaml")
    spec, pod = job["spec"], job["spec"]["template"]["spec"]
    container = _container(job)
    n = int(_env(container)["WCDL_SHARDS"])
    assert spec["completionMode"] == "Indexed" and spec["completions"] == n
    bindir = _fake(tmp_path / "bin")
    for index in range(n):
        args = _run_container_command(container, {"WCDL_INDEX": str(index), "WCDL_SHARDS": str(n)}, bindir)
        k = index + 1
        assert args[:4] == ["autograde", "/submissions", "--out", f"/results/shard-{k}-of-{n}"]
        assert args[args.index("--shard") + 1] == f"{k}/{n}"
    index_source = next(e for e in container["env"] if e["name"] == "WCDL_INDEX")
    assert index_source["valueFrom"]["fieldRef"]["fieldPath"] == \
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    # the limits: CPU, memory, storage, wall time, no network, read-only submissions, not root
    limits = container["resources"]["limits"]
    assert {"cpu", "memory", "ephemeral-storage"} <= limits.keys()
    assert pod["activeDeadlineSeconds"] and spec["activeDeadlineSeconds"]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["submissions"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["submissions"]["persistentVolumeClaim"]["readOnly"] is True
    assert volumes["shm"]["emptyDir"]["sizeLimit"] and volumes["tmp"]["emptyDir"]["sizeLimit"]
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert pod["automountServiceAccountToken"] is False
    assert policy["kind"] == "NetworkPolicy" and policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert "ingress" not in policy["spec"] and "egress" not in policy["spec"]          # nothing allowed
    (selector,) = policy["spec"]["podSelector"]["matchExpressions"]
    gather = _docs("gather-job.yaml")[0]
    for labels in (job["spec"]["template"]["metadata"]["labels"], gather["spec"]["template"]["metadata"]["labels"]):
        assert labels[selector["key"]] in selector["values"]


def test_the_gather_job_names_every_shard(tmp_path):
    (gather,) = _docs("gather-job.yaml")
    container = _container(gather)
    n = int(_env(container)["WCDL_SHARDS"])
    assert n == int(_env(_container(_docs("grade-job.yaml")[0]))["WCDL_SHARDS"])
    args = _run_container_command(container, {"WCDL_SHARDS": str(n)}, _fake(tmp_path / "bin"))
    assert args == ["gather", *[f"/results/shard-{k}-of-{n}" for k in range(1, n + 1)], "--out", "/results/final"]


# ---------------------------------------------------------------- Slurm: the scripts

def _sbatch_script(script: str, args: list[str], env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SLURM / script), *args], capture_output=True, text=True, cwd=cwd,
                          env={"PATH": os.environ["PATH"], **env}, timeout=60)


def test_each_array_task_grades_its_shard(tmp_path):
    subs, results = tmp_path / "subs", tmp_path / "results"
    subs.mkdir()
    repo = tmp_path / "repo"
    _fake(repo / ".venv" / "bin")
    for k in (1, 2, 3):
        run = _sbatch_script("grade.sbatch", [str(subs), str(results), "3"],
                             {"SLURM_ARRAY_TASK_ID": str(k), "SLURM_CPUS_PER_TASK": "2", "WCDL_RUNTIME": "none",
                              "WCDL_REPO": str(repo)}, tmp_path)
        assert run.returncode == 0, run.stderr
        args = json.loads(run.stdout.splitlines()[-1])
        assert args[:4] == ["autograde", str(subs), "--out", str(results / f"shard-{k}-of-3")]
        assert args[args.index("--shard") + 1] == f"{k}/3" and args[args.index("--workers") + 1] == "2"
        assert (results / f"shard-{k}-of-3").is_dir()
    # in the container: no network, the submissions read-only, the shard's folder as /out
    bindir = _fake(tmp_path / "bin", "apptainer")
    run = _sbatch_script("grade.sbatch", [str(subs), str(results), "3"],
                         {"SLURM_ARRAY_TASK_ID": "2", "WCDL_IMAGE": "wcdl.sif",
                          "PATH": f"{bindir}:{os.environ['PATH']}"}, tmp_path)
    assert run.returncode == 0, run.stderr
    args = json.loads(run.stdout.splitlines()[-1])
    assert args[:5] == ["run", "--containall", "--cleanenv", "--net", "--network"] and args[5] == "none"
    assert f"{subs}:/submissions:ro" in args and f"{results / 'shard-2-of-3'}:/out" in args
    assert args[args.index("wcdl.sif") + 1:][:4] == ["autograde", "/submissions", "--out", "/out"]
    # an index outside 1..N is refused, not graded as some other shard
    for bad in ("0", "4"):
        run = _sbatch_script("grade.sbatch", [str(subs), str(results), "3"],
                             {"SLURM_ARRAY_TASK_ID": bad, "WCDL_RUNTIME": "none", "WCDL_REPO": str(repo)}, tmp_path)
        assert run.returncode == 2 and "--array=1-3" in run.stderr
    run = _sbatch_script("gather.sbatch", [str(results), "3"], {"WCDL_RUNTIME": "none", "WCDL_REPO": str(repo)},
                         tmp_path)
    assert json.loads(run.stdout.splitlines()[-1]) == [
        "gather", *[str(results / f"shard-{k}-of-3") for k in (1, 2, 3)], "--out", str(results / "final")]


# ---------------------------------------------------------------- Slurm: for real

def _slurm(cmd: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, **kw)


def _wait_for(jobs: list[str], env: dict, limit: float = 1800) -> None:
    deadline = time.monotonic() + limit
    while _slurm(["squeue", "-h", "-j", ",".join(jobs)], env).stdout.strip():
        assert time.monotonic() < deadline, "the Slurm jobs did not end"
        time.sleep(2)


def _log_of(results: Path, prefix: str) -> str:
    return "".join(p.read_text() for p in sorted(results.glob(f"{prefix}*.log")))


def _skip(why: str):
    if os.environ.get("WCDL_REQUIRE_SLURM"):        # CI (.ci/run) installs Slurm: there it must run
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture
def slurm(tmp_path_factory):
    """A private single-node Slurm: the environment that reaches it."""
    for prog in ("slurmctld", "slurmd", "munged", "sbatch"):
        if not (shutil.which(prog) or Path("/usr/sbin", prog).exists()):
            _skip(f"Slurm is not installed here ({prog} not found; Debian: apt-get install slurm-wlm)")
    if os.geteuid() != 0:
        _skip("a private Slurm needs root here (slurmd runs as root)")
    folder = tmp_path_factory.mktemp("slurm")
    start = subprocess.run([str(SLURM / "single-node.sh"), "start", str(folder)], capture_output=True, text=True,
                           timeout=180)
    if start.returncode != 0:
        _skip(f"slurmctld/slurmd could not be started here: {(start.stdout + start.stderr)[-800:]}")
    try:
        yield dict(os.environ, SLURM_CONF=str(folder / "slurm.conf"), PATH=f"{os.environ['PATH']}:/usr/sbin")
    finally:
        subprocess.run([str(SLURM / "single-node.sh"), "stop", str(folder)], timeout=60)


def test_a_slurm_job_array_grades_a_class_end_to_end(slurm, tmp_path):
    subs, results = tmp_path / "submissions", tmp_path / "results"
    for student, (build, _) in GRADED.items():
        (subs / student).mkdir(parents=True)
        (subs / student / f"{NB}.ipynb").write_bytes(build())
    results.mkdir()
    env = dict(slurm, WCDL_RUNTIME="none", WCDL_REPO=str(core.REPO), OMP_NUM_THREADS="1")
    options = ["--cpus-per-task=1", "--mem=4G", "--time=30"]        # small limits: a small class

    # shards 1 and 3 only, then the gather: it fails, naming shard 2
    array = _slurm(["sbatch", "--parsable", "--array=1,3", f"--chdir={results}", *options,
                    str(SLURM / "grade.sbatch"), str(subs), str(results), "3"], env)
    assert array.returncode == 0, array.stderr
    gather = _slurm(["sbatch", "--parsable", f"--dependency=afterany:{array.stdout.strip()}", f"--chdir={results}",
                     str(SLURM / "gather.sbatch"), str(results), "3"], env)
    _wait_for([array.stdout.strip(), gather.stdout.strip()], env)
    log = _log_of(results, "wcdl-gather-")
    assert "shard 2/3: missing" in log and "shard 1/3" not in log and "shard 3/3" not in log, log
    assert not (results / "final").exists()
    for k in (1, 3):
        assert json.loads((results / f"shard-{k}-of-3" / shards.MANIFEST).read_text())["complete"], \
            _log_of(results, "wcdl-grade-")

    # the whole array again, as deploy/slurm/submit.sh submits it: shards 1 and 3 resume, 2 grades
    for p in results.glob("wcdl-gather-*.log"):
        p.unlink()
    submit = _slurm([str(SLURM / "submit.sh"), str(subs), str(results), "3", *options], env)
    assert submit.returncode == 0, submit.stderr
    jobs = submit.stdout.split("job array ")[1].split()[0], submit.stdout.split("gather: job ")[1].split()[0]
    _wait_for(list(jobs), env)
    assert "gathered 3 shard(s)" in _log_of(results, "wcdl-gather-"), _log_of(results, "wcdl-")
    rows = {r["student_id"]: float(r["score"]) for r in csv.DictReader((results / "final" / "grades.csv").open())}
    assert rows == {s: float(points) for s, (_, points) in GRADED.items()}
    for k in (1, 3):                       # graded once: the second run found every pair journaled
        assert len((results / f"shard-{k}-of-3" / "progress.jsonl").read_text().splitlines()) == 1
    for student in GRADED:
        assert (results / "final" / "feedback" / student / MODULE / f"{NB}.html").is_file()

"""Unit tests for wcdl.profiling and wcdl.audit: profiles as Events, the regime split, what-ifs, the command."""

from __future__ import annotations

import importlib
import itertools
import json
import statistics

import matplotlib
import pytest
import torch

import wcdl
from grader import cli
from wcdl.profiling import Event, compare, profile_events, split_time
from wcdl.roofline import Roofline

profiling = importlib.import_module("wcdl.profiling")

matplotlib.use("Agg")

# a made-up machine: ridge point 5 FLOP/byte, so the tests need no roofline measurement
ROOF = Roofline("test machine", 50e9, 10e9)


def tick_timer(step=1.0):
    ticks = itertools.count()
    return lambda: step * next(ticks)


class BigMatmul(torch.nn.Module):
    def __init__(self, n=384):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(n, n))

    def forward(self, x):
        return x @ self.w


class ElementwiseChain(torch.nn.Module):
    def forward(self, x):
        return ((x * 2 + 1).relu() * 3).sigmoid() - x


class TinyOps(torch.nn.Module):
    def forward(self, x):
        for _ in range(150):
            x = x * 0.5 + 1
        return x


def test_events_from_a_real_profile():
    a, b = torch.randn(64, 32), torch.randn(32, 16)
    events, prof = profile_events(lambda: torch.mm(a, b).t().relu())
    assert events and prof.key_averages()
    assert all(e.kind in profiling.KINDS for e in events)
    assert all(0 <= e.self_us <= e.duration_us + 1e-6 for e in events)
    assert [e.start_us for e in events] == sorted(e.start_us for e in events)
    mm = [e for e in events if e.name == "aten::mm"]
    assert len(mm) == 1 and mm[0].depth == 0
    assert mm[0].flops == 2 * 64 * 32 * 16
    assert mm[0].bytes == 4 * (64 * 32 + 32 * 16 + 64 * 16)        # inputs read + the 64 x 16 output written
    t = next(e for e in events if e.name == "aten::t")
    assert t.bytes == 0 and t.flops == 0                          # a view moves nothing
    relu = next(e for e in events if e.name == "aten::relu")
    inside = [e for e in events if relu.start_us <= e.start_us and e.end_us <= relu.end_us + 1e-3]
    assert sum(e.bytes for e in inside) == 2 * 4 * 64 * 16        # elementwise: read once, write once (in one op)
    children = [e for e in events if e.depth == 1]
    assert children and all(any(p.start_us <= c.start_us and c.end_us <= p.end_us + 1e-3 for p in events if p.depth == 0)
                            for c in children)


def test_a_lookup_reads_the_rows_it_picks_not_the_table():
    emb, ids = torch.nn.Embedding(1000, 16), torch.randint(0, 1000, (4, 5))
    events, _ = profile_events(lambda: emb(ids))
    moved = [(e.name, e.bytes) for e in events if e.bytes]
    assert moved == [("aten::index_select", 20 * 8 + 2 * 20 * 16 * 4)]   # int64 ids, rows read and written


def test_a_dataloader_fetch_is_one_data_event(tmp_path):
    ds = torch.utils.data.TensorDataset(torch.randn(32, 8))
    loader = torch.utils.data.DataLoader(ds, batch_size=16)
    trace = tmp_path / "trace.json"
    events, _ = profile_events(lambda: [x.sum() for (x,) in loader], trace_path=trace)
    data = [e for e in events if e.kind == "data"]
    assert len(data) == 3                                         # two batches and the fetch that ends the loop
    assert all(e.self_us == e.duration_us for e in data)
    inside = [e for e in events if e.kind != "data" and any(d.start_us < e.start_us < d.end_us for d in data)]
    assert not inside, "ops inside a fetch belong to the fetch"
    assert json.loads(trace.read_text())["traceEvents"]


def test_split_time_accounts_for_every_microsecond():
    events = [
        Event("forward", "region", 0, 400, 47, 0),
        Event("aten::linear", "op", 5, 200, 8, 1), Event("aten::t", "op", 6, 4, 4, 2),
        Event("aten::addmm", "op", 12, 188, 188, 2, 4e6, 2e5),
        Event("aten::add", "op", 210, 3, 3, 1, 16, 192),
        Event("aten::mm", "op", 220, 150, 150, 1, 2e6, 1e5),
        Event("aten::relu", "op", 450, 50, 50, 0, 0, 4e5),
        Event("sgemm", "kernel", 0, 5000, 5000, 0),
    ]
    totals, rows, wall = split_time(events, floor_us=5.0, ridge=10.0)
    assert wall == 500
    assert totals == {"compute": 183 + 145, "memory": 45, "overhead": 127}
    assert sum(totals.values()) == pytest.approx(wall)
    by_name = {r.name: r for r in rows}
    assert by_name["aten::addmm"].regime == "compute" and by_name["aten::relu"].regime == "memory"
    assert by_name["aten::t"].regime == "overhead" and by_name["aten::t"].overhead_us == 4
    assert [r.name for r in rows][0] == "aten::addmm"             # sorted by self time
    assert split_time([], 1.0, 1.0) == ({"compute": 0.0, "memory": 0.0, "overhead": 0.0}, [], 0.0)


@pytest.mark.parametrize("model,x,regime", [
    (BigMatmul(), torch.randn(384, 384), "compute"),
    (ElementwiseChain(), torch.randn(2**20), "memory"),
    (TinyOps(), torch.randn(4), "overhead"),
], ids=["big matmul", "elementwise chain", "tiny ops"])
def test_audit_names_known_regimes(model, x, regime):
    # the fastest of 9 profiled passes: on a loaded machine a pass can lose the CPU for milliseconds
    report = wcdl.audit(model, x, whatifs=(), roofline=ROOF, passes=9)
    assert report.regime == regime, report.table()
    assert sum(report.by_regime.values()) == pytest.approx(report.wall_us, rel=1e-6)
    assert 0 <= report.overhead_share <= 1
    assert report.ops and report.whatifs == []
    text = str(report)
    assert f"->  {regime}-bound" in text and report.ops[0].name in text
    assert report.table() == text


def test_compare_interleaves_variants_in_one_run():
    log, clock = [], itertools.count()
    fns = {name: (lambda name=name: log.append(name)) for name in ("base", "a", "b")}
    times = compare(fns, rounds=3, warmup=1, timer=lambda: float(next(clock)))
    assert log == ["base", "a", "b"] * 4                          # one warm-up round, then 3 interleaved rounds
    assert {k: len(v) for k, v in times.items()} == {"base": 3, "a": 3, "b": 3}
    assert all(t == 1.0 for v in times.values() for t in v)
    with pytest.raises(ValueError):
        compare(fns, rounds=0)


def test_what_if_ratios_come_from_the_same_run(monkeypatch):
    monkeypatch.setattr(profiling.shutil, "which", lambda name: None)      # as on a machine without a C compiler
    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 8))
    x = torch.randn(4, 32)
    before = [p.detach().clone() for p in model.parameters()]
    # every timed call takes one tick of the fake clock: per sample, the batch what-if is exactly
    # `batch` times faster and every other variant exactly as fast
    report = wcdl.audit(model, x, batch=4, rounds=3, roofline=ROOF, timer=tick_timer(0.5))
    ratios = {w.name: w.ratio for w in report.whatifs}
    assert ratios["batch x4"] == pytest.approx(4.0)
    assert ratios["int8 dynamic"] == pytest.approx(1.0)
    threads = [name for name in ratios if "thread" in name]
    assert len(threads) == 1 and ratios[threads[0]] in (None, pytest.approx(1.0))
    assert ratios["torch.compile"] is None
    assert "C compiler" in next(w.note for w in report.whatifs if w.name == "torch.compile")
    for w in report.whatifs:
        if w.ratio is not None:
            assert len(w.seconds) == len(report.baseline_seconds) == 3
            per_sample = 4 if w.name.startswith("batch") else 1
            assert w.ratio == pytest.approx(statistics.median(report.baseline_seconds)
                                            / (statistics.median(w.seconds) / per_sample))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters())), "the audited model was changed"
    assert torch.get_num_threads() == 1 or not threads


def test_audit_measures_real_ratios_and_draws():
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.GELU())
    report = wcdl.audit(model, torch.randn(2, 64), whatifs=("batch", "int8"), rounds=2, roofline=ROOF)
    assert all(w.ratio > 0 for w in report.whatifs)
    assert "int8" in report.table() and "max rel. diff" in report.table()
    fig = report.plot()
    assert len(fig.axes) == 3
    d = report.as_dict()
    assert json.loads(json.dumps(d, default=float))["regime"] == report.regime


def test_audit_rejects_bad_input():
    model = torch.nn.Linear(4, 4)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        wcdl.audit(lambda x: x, torch.randn(2, 4), roofline=ROOF)
    with pytest.raises(TypeError, match="example_inputs"):
        wcdl.audit(model, [[1.0] * 4], roofline=ROOF)
    with pytest.raises(ValueError, match="what-ifs"):
        wcdl.audit(model, torch.randn(2, 4), whatifs=("fp8",), roofline=ROOF)


def test_machine_roofline_is_measured_once_and_cached(tmp_path, monkeypatch):
    calls = []

    def fake_measure(device, **kw):
        calls.append(device)
        return Roofline("fake", 1e9, 1e8)

    monkeypatch.setattr("wcdl.roofline.measure_roofline", fake_measure)
    cache = tmp_path / "roofline.json"
    first = profiling.machine_roofline("cpu", cache=cache)
    second = profiling.machine_roofline("cpu", cache=cache)
    assert first == second == Roofline("fake", 1e9, 1e8) and len(calls) == 1
    profiling.machine_roofline("cpu", cache=cache, refresh=True)
    assert len(calls) == 2
    cache.write_text("not json")
    assert profiling.machine_roofline("cpu", cache=cache).bandwidth == 1e8 and len(calls) == 3


FACTORY = """
import torch

def make(width=32):
    return torch.nn.Sequential(torch.nn.Linear(16, width), torch.nn.ReLU(), torch.nn.Linear(width, 4))
"""


def test_the_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(profiling, "machine_roofline", lambda device=None: ROOF)
    (tmp_path / "models.py").write_text(FACTORY)
    png, trace = tmp_path / "audit.png", tmp_path / "trace.json"
    rc = cli.main(["audit", f"{tmp_path / 'models.py'}:make", "--kwargs", '{"width": 48}', "--shape", "4,16",
                   "--whatif", "batch", "--rounds", "2", "--plot", str(png), "--trace", str(trace)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "audit of Sequential" in out and "aten::addmm" in out and "batch x8" in out
    assert png.stat().st_size > 1000 and json.loads(trace.read_text())["traceEvents"]
    rc = cli.main(["audit", "torch.nn:TransformerEncoderLayer", "--kwargs", '{"d_model": 32, "nhead": 2}',
                   "--shape", "2,5,32", "--whatif", "int8", "--rounds", "1", "--json"])
    got = json.loads(capsys.readouterr().out)
    assert rc == 0 and got["model"] == "TransformerEncoderLayer" and got["regime"] in profiling.REGIMES
    assert [w["name"] for w in got["whatifs"]] == ["int8 dynamic"]


@pytest.mark.parametrize("argv,message", [
    (["no_colon_here", "--shape", "2,3"], "MODULE:NAME"),
    (["torch.nn:NoSuchLayer", "--shape", "2,3"], "no attribute"),
    (["torch.nn:Linear", "--shape", "2,0", "--kwargs", '{"in_features": 3, "out_features": 2}'], "positive"),
    (["torch.nn:Linear", "--shape", "2,3", "--kwargs", "[1]"], "JSON object"),
    (["torch:randn", "--shape", "2,3", "--kwargs", '{"size": [2]}'], "not a torch.nn.Module"),
])
def test_the_command_rejects_bad_input(argv, message, capsys):
    assert cli.main(["audit", *argv]) == 1
    assert message in capsys.readouterr().err

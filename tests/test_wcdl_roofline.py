"""Unit tests for wcdl.roofline: measuring, tracing ops, results files, plots."""

from __future__ import annotations

import itertools
import json

import matplotlib
import pytest
import torch

from wcdl import roofline as rl

matplotlib.use("Agg")


def tick_timer(step=1.0):
    """A fake clock that advances by `step` at every read."""
    ticks = itertools.count()
    return lambda: step * next(ticks)


def test_published_specs_and_ridge():
    a100 = rl.PUBLISHED["A100 80GB SXM bf16"]
    assert a100.peak_flops == 312e12 and a100.bandwidth == 2.039e12
    assert 150 < a100.peak_flops / a100.bandwidth < 156
    for r in rl.PUBLISHED.values():
        assert r.peak_flops > 1e12 and r.bandwidth > 1e11 and r.note
    assert "TFLOP/s" in str(a100) and "GB/s" in str(a100)


@pytest.mark.parametrize("kernel,words", [("copy", 2), ("scale", 2), ("add", 3), ("triad", 3)])
def test_measure_bandwidth_counts_the_stream_words(kernel, words):
    got = rl.measure_bandwidth("cpu", n=1000, kernel=kernel, timer=tick_timer(0.5), warmup=1, repeat=3)
    assert got == pytest.approx(words * 1000 * 4 / 0.5)
    got = rl.measure_bandwidth("cpu", n=10, kernel=kernel, dtype=torch.float64, timer=tick_timer(), repeat=1)
    assert got == pytest.approx(words * 10 * 8)


def test_measure_bandwidth_rejects_unknown_kernels():
    with pytest.raises(ValueError, match="kernel"):
        rl.measure_bandwidth("cpu", n=10, kernel="stream")


def test_measure_bandwidth_times_one_op_per_call():
    from wcdl.ops import OpCounter

    with OpCounter() as ops:
        rl.measure_bandwidth("cpu", n=100, kernel="triad", timer=tick_timer(), warmup=2, repeat=3)
    assert ops.counts["add"] == 5 and ops.counts.get("mul", 0) == 0


def test_measure_matmul_flops():
    assert rl.measure_matmul_flops("cpu", n=16, timer=tick_timer(2.0), repeat=3) == pytest.approx(2 * 16**3 / 2.0)
    assert rl.measure_matmul_flops("cpu", n=5, dtype=torch.bfloat16, timer=tick_timer(), repeat=1) == pytest.approx(250)


def test_real_measurements_are_positive():
    r = rl.measure_roofline("cpu", n_bandwidth=1 << 16, n_matmul=64, repeat=2, warmup=1)
    assert r.peak_flops > 0 and r.bandwidth > 0 and "float32" in r.name
    assert rl.device_name("cpu")


def test_trace_ops_records_inputs_outputs_and_views():
    x, w, b = torch.randn(8, 4), torch.randn(4), torch.randn(4)
    y, recs = rl.trace_ops(lambda: torch.relu(x * w + b).t())
    assert y.shape == (4, 8)
    assert [r.name for r in recs] == ["mul", "add", "relu", "t"]
    assert [r.is_view for r in recs] == [False, False, False, True]
    mul = recs[0]
    assert [t.nbytes for t in mul.inputs] == [128, 16] and [t.nbytes for t in mul.outputs] == [128]
    assert mul.inputs[0].shape == (8, 4) and mul.inputs[0].dtype == torch.float32
    assert "mul" in str(mul) and "(view)" in str(recs[-1])


def test_trace_ops_inplace_and_out_arguments():
    a, b = torch.randn(6), torch.randn(6)
    out = torch.empty(6)
    _, recs = rl.trace_ops(lambda: torch.add(a, b, out=out))
    (rec,) = recs
    assert rec.inplace and len(rec.inputs) == 2 and len(rec.outputs) == 1   # out= is not read
    _, recs = rl.trace_ops(lambda: a.relu_())
    assert recs[0].inplace and len(recs[0].inputs) == 1


def test_tensor_info_counts_broadcast_axes_once():
    base = torch.randn(5)
    expanded = base.expand(100, 5)
    assert rl.tensor_info(expanded).nbytes == 5 * 4
    assert rl.tensor_info(torch.empty(0, 3)).nbytes == 0
    assert rl.tensor_info(torch.randn(3, 3, dtype=torch.float16)).nbytes == 18


def test_trace_ops_marks_unsafe_view_as_view():
    a, b = torch.randn(2, 3, 4), torch.randn(4, 5)
    _, recs = rl.trace_ops(lambda: a @ b)      # 3-D @ 2-D: view + mm + _unsafe_view
    names = {r.name: r.is_view for r in recs}
    assert names.get("mm") is False
    assert names["_unsafe_view"] is True and names["view"] is True


def test_trace_ops_shows_autocast_dtypes():
    x, w = torch.randn(4, 8), torch.randn(3, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, recs = rl.trace_ops(lambda: torch.nn.functional.linear(x, w))
    assert any(r.name == "_to_copy" for r in recs)
    mm = [r for r in recs if r.name == "mm"]
    assert mm and mm[0].outputs[0].dtype == torch.bfloat16


def test_results_round_trip(tmp_path):
    path = tmp_path / "r.json"
    assert rl.load_results(path) is None
    rs = [rl.Roofline("gpu fp32", 1e13, 1e12, "test"), rl.Roofline("gpu bf16", 1e14, 1e12)]
    rl.save_results(path, rs, device="test gpu")
    got, extra = rl.load_results(path)
    assert got == rs and extra == {"device": "test gpu"}
    assert json.loads(path.read_text())["rooflines"][0]["name"] == "gpu fp32"


def test_plot_roofline_draws_roofs_ridges_and_points():
    import matplotlib.pyplot as plt

    rs = [rl.Roofline("a", 100.0, 10.0), rl.Roofline("b", 1000.0, 20.0)]
    ax = rl.plot_roofline(rs, [("op", 0.5, 4.0), ("skipped", 0.0, 1.0)], title="t")
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log" and ax.get_title() == "t"
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["op"]
    labels = ax.get_legend_handles_labels()[1]
    assert any("ridge 10" in lbl for lbl in labels) and any("ridge 50" in lbl for lbl in labels)
    plt.close(ax.figure)


def test_main_writes_a_results_file(tmp_path, capsys):
    out = tmp_path / "res.json"
    res = rl.main(["--out", str(out), "--device", "cpu", "--repeat", "1", "--n-bandwidth", "4096", "--n-matmul", "32"])
    got, extra = rl.load_results(out)
    assert len(got) == 2 and extra["device"] and extra["torch"] == torch.__version__
    assert [r.name for r in got] == [r.name for r in res["rooflines"]]
    assert "wrote" in capsys.readouterr().out

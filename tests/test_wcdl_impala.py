"""Unit tests of wcdl.impala: shared buffers, actor processes, cleanup, throughput plumbing."""

import multiprocessing as mp
import queue
import time

import psutil
import pytest
import torch

from wcdl import impala


def get_batch(free_queue, full_queue, buffers, batch_size, timeout=None):
    """The notebook's slot bookkeeping (reference solution), for driving the plumbing."""
    indices = [full_queue.get(timeout=timeout) for _ in range(batch_size)]
    batch = {key: torch.cat([buf[m] for m in indices], dim=1) for key, buf in buffers.items()}
    for m in indices:
        free_queue.put(m)
    return batch


@pytest.fixture(scope="module")
def ctx():
    return impala.mp_context()


@pytest.fixture(autouse=True)
def nothing_left_running():
    yield
    deadline = time.monotonic() + 5
    while impala.leftover_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert impala.leftover_processes() == []
    assert mp.active_children() == []


def test_context_prefers_forkserver_and_can_be_forced():
    if "forkserver" in mp.get_all_start_methods():
        assert impala.mp_context().get_start_method() == "forkserver"
    assert impala.mp_context("spawn").get_start_method() == "spawn"


def test_buffers_are_preallocated_shared_and_shaped():
    specs = impala.cartpole_specs(unroll_length=5, envs_per_actor=3)
    buffers = impala.create_buffers(4, specs)
    assert set(buffers) == {"obs", "action", "logits", "reward", "done", "episode_return"}
    assert buffers["obs"].shape == (4, 6, 3, 4) and buffers["obs"].dtype == torch.float32
    assert buffers["action"].shape == (4, 6, 3) and buffers["action"].dtype == torch.int64
    assert buffers["logits"].shape == (4, 6, 3, 2)
    assert buffers["done"].dtype == torch.bool
    assert all(b.is_shared() for b in buffers.values())


def test_policy_net_shapes():
    net = impala.PolicyNet()
    logits, value = net(torch.randn(7, 3, 4))
    assert logits.shape == (7, 3, 2) and value.shape == (7, 3)
    x = torch.randn(2, 4)
    assert torch.equal(net.logits(x), net(x)[0])


def test_cartpole_actor_in_process_writes_consistent_rollouts():
    T, E = 12, 3
    buffers = impala.create_buffers(2, impala.cartpole_specs(T, E))
    free_q, full_q = queue.Queue(), queue.Queue()
    for index in (0, 1, None):
        free_q.put(index)
    torch.manual_seed(0)
    impala.cartpole_actor(0, free_q, full_q, buffers, impala.PolicyNet(), seed=5)
    assert list(full_q.queue) == [0, 1]
    # step 0 of the second rollout repeats the last step of the first (monobeast layout)
    for key, buf in buffers.items():
        assert torch.equal(buf[1][0], buf[0][T]), key
    rewards, done, ep_ret = buffers["reward"][:, 1:], buffers["done"][:, 1:], buffers["episode_return"][:, 1:]
    assert set(rewards.unique().tolist()) <= {0.0, 1.0}
    assert torch.all(ep_ret[~done] == 0)
    assert torch.all(rewards[rewards == 0] == 0) and torch.all(done[rewards == 0]), "reset steps are done with reward 0"
    assert buffers["action"][:, 1:].max() <= 1 and buffers["action"][:, 1:].min() >= 0


def test_actor_pool_shared_memory_round_trip(ctx):
    buffers = impala.create_buffers(4, {"frames": ((3, 1, 2, 2), torch.uint8)})
    free_q, full_q = ctx.Queue(), ctx.Queue()
    impala.fill_free_queue(free_q, 4)
    try:
        with impala.ActorPool(impala.frames_producer, 2, free_q, full_q, buffers, ctx=ctx, free_queue=free_q) as pool:
            assert pool.alive == 2
            for _ in range(5):
                batch = get_batch(free_q, full_q, buffers, 2, timeout=30)
                pool.check()
                assert batch["frames"].shape == (3, 2, 2, 2)
                # the children wrote random bytes into the very pages this process reads
                assert batch["frames"].float().std() > 0
        assert pool.processes == []
    finally:
        impala.close_queues(free_q, full_q)


def test_actor_pool_cleans_up_on_exception_and_interrupt(ctx):
    buffers = impala.create_buffers(2, {"frames": ((2, 1, 1), torch.uint8)})
    for exc in (RuntimeError("a failing test"), KeyboardInterrupt()):
        free_q, full_q = ctx.Queue(), ctx.Queue()
        impala.fill_free_queue(free_q, 2)
        pids = []
        with pytest.raises(type(exc)):
            with impala.ActorPool(impala.frames_producer, 2, free_q, full_q, buffers, ctx=ctx, free_queue=free_q) as pool:
                pids = [p.pid for p in pool.processes]
                raise exc
        assert len(pids) == 2 and not any(psutil.pid_exists(pid) for pid in pids)
        assert pool.processes == []
        impala.close_queues(free_q, full_q)


def test_actor_errors_are_reported_with_traceback(ctx):
    free_q, full_q = ctx.Queue(), ctx.Queue()
    free_q.put(0)
    try:
        with impala.ActorPool(impala.cartpole_actor, 1, free_q, full_q, {}, impala.PolicyNet(), 0,
                              ctx=ctx, free_queue=free_q) as pool:
            deadline = time.monotonic() + 60
            with pytest.raises(impala.ActorError, match="KeyError"):
                while time.monotonic() < deadline:
                    pool.check()
                    time.sleep(0.05)
    finally:
        impala.close_queues(free_q, full_q)


def test_stuck_workers_are_terminated(ctx):
    # queue producers never see a stop signal here and block on a full queue: join times out, terminate
    out_q = ctx.Queue(maxsize=1)
    stop, released = ctx.Event(), ctx.Event()
    start = time.monotonic()
    with impala.ActorPool(impala.queue_producer, 2, out_q, stop, released, (4,), ctx=ctx, join_timeout=0.5) as pool:
        pids = [p.pid for p in pool.processes]
        time.sleep(0.2)
    assert not any(psutil.pid_exists(pid) for pid in pids) and pool.processes == []
    assert time.monotonic() - start < 30
    impala.close_queues(out_q)


def test_throughput_helpers_run_and_leave_nothing(ctx):
    shape = (5, 1, 8, 8)
    shm = impala.throughput_shared_memory(get_batch, ctx=ctx, rollout_shape=shape, seconds=0.2, timeout=30)
    q = impala.throughput_queue(ctx=ctx, rollout_shape=shape, seconds=0.2, timeout=30)
    assert shm > 0 and q > 0

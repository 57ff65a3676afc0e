"""Producer/consumer plumbing for the IMPALA notebook, in the style of torchbeast's monobeast.

Actor processes write rollouts into *preallocated shared-memory buffers*
and pass only slot indices through two queues:

    free_queue --index--> actor writes buffers[key][index] --index--> full_queue
    full_queue --index--> learner copies the slot into a batch --index--> free_queue

Everything that runs in a child process lives here, in an importable
module: with the `spawn` and `forkserver` start methods a child imports
its target by name, so a function defined in a notebook cannot be one.
The learner's side (taking a batch, V-trace) runs in the parent process,
in the notebook.

Process hygiene, the traps this module designs around:

* Children start with `forkserver` (or `spawn` where there is no fork), so
  no child inherits a parent's torch thread pool mid-use (a `fork` after
  torch has started its threads can deadlock the child). Every child also
  calls `torch.set_num_threads(1)`: actors share the cores with the learner.
* A process that sends a tensor through a `multiprocessing.Queue` must stay
  alive until the tensor has been received: the receiver fetches the
  shared-memory handle from the sender. `queue_producer` therefore waits
  for a `released` event before it exits.
* Workers are always cleaned up: `ActorPool` is a context manager whose
  exit (also on an exception or a KeyboardInterrupt from an interrupted
  cell) sends stop sentinels, joins with a timeout, then terminates and
  kills stragglers. Children ignore SIGINT, so an interrupt reaches only
  the parent, which then shuts them down in order.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue as queue_mod
import signal
import time
import traceback
from typing import Any, Callable

import torch
from torch import nn

from .rl import N_ACTIONS, OBS_DIM, CartPoles

PRELOAD = ["torch", "gymnasium", "wcdl.impala"]


# ---------------------------------------------------------------- processes

def mp_context(method: str | None = None):
    """A multiprocessing context for actors: forkserver where available, else spawn.

    With forkserver, one server process imports torch and gymnasium once and
    forks each actor from that clean, single-threaded state: actors start in
    milliseconds instead of re-importing torch. `method` forces a start method.
    """
    methods = mp.get_all_start_methods()
    if method is None:
        method = "forkserver" if "forkserver" in methods else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(PRELOAD)
    return ctx


class ActorError(RuntimeError):
    """An actor process failed; the message carries its traceback."""


def _run_actor(target: Callable[..., Any], actor_id: int, errors, *args: Any) -> None:
    """Body of every child: one torch thread, no SIGINT, errors reported to the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    torch.set_num_threads(1)
    try:
        target(actor_id, *args)
    except BaseException:  # report everything; the parent decides what to do
        errors.put((actor_id, traceback.format_exc()))
        raise SystemExit(1)


class ActorPool:
    """Start `num_actors` processes running `target(actor_id, *args)`; always clean up.

    Use as a context manager. On exit (normal, exception or interrupt) it
    calls `on_close` if given, puts one `None` per actor into `free_queue`
    if given (the monobeast stop sentinel), joins each process for up to
    `join_timeout` seconds, then terminates and finally kills any that are
    still alive. `target` must be importable (defined in a module).
    """

    def __init__(self, target: Callable[..., Any], num_actors: int, *args: Any, ctx=None,
                 free_queue=None, on_close: Callable[[], None] | None = None,
                 join_timeout: float = 5.0):
        self.ctx = ctx or mp_context()
        self.target, self.num_actors, self.args = target, num_actors, args
        self.free_queue, self.on_close, self.join_timeout = free_queue, on_close, join_timeout
        self.errors = self.ctx.Queue()
        self.processes: list = []

    def start(self) -> "ActorPool":
        for i in range(self.num_actors):
            p = self.ctx.Process(target=_run_actor, args=(self.target, i, self.errors, *self.args),
                                 name=f"actor-{i}", daemon=True)
            p.start()
            self.processes.append(p)
        return self

    def __enter__(self) -> "ActorPool":
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def check(self) -> None:
        """Raise ActorError if an actor reported an exception or died."""
        try:
            actor_id, tb = self.errors.get_nowait()
        except queue_mod.Empty:
            pass
        else:
            raise ActorError(f"actor {actor_id} failed:\n{tb}")
        for i, p in enumerate(self.processes):
            if p.exitcode not in (None, 0):
                raise ActorError(f"actor {i} (pid {p.pid}) died with exit code {p.exitcode}")

    def close(self) -> None:
        try:
            if self.on_close is not None:
                self.on_close()
        finally:
            if self.free_queue is not None:
                for _ in self.processes:
                    self.free_queue.put(None)
            deadline = time.monotonic() + self.join_timeout
            for p in self.processes:
                p.join(timeout=max(0.0, deadline - time.monotonic()))
            for p in self.processes:
                if p.is_alive():
                    p.terminate()
                    p.join(timeout=1.0)
                if p.is_alive():
                    p.kill()
                    p.join(timeout=1.0)
            for p in self.processes:
                if p.exitcode is not None:
                    p.close()
            self.processes = []
            self.errors.cancel_join_thread()
            self.errors.close()

    @property
    def alive(self) -> int:
        return sum(p.is_alive() for p in self.processes)


def leftover_processes() -> list[str]:
    """Child processes of this process that are still running, as readable lines.

    multiprocessing's own helpers (the fork server and the resource tracker)
    are not counted: they idle until this Python process exits and then exit
    with it. Actors, producers and anything else are listed.
    """
    helpers = set()
    try:
        from multiprocessing import forkserver, resource_tracker
        helpers.add(getattr(forkserver._forkserver, "_forkserver_pid", None))
        helpers.add(getattr(resource_tracker._resource_tracker, "_pid", None))
    except Exception:  # pragma: no cover - private attributes moved
        pass
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil ships with jupyter
        return [f"{p.name} (pid {p.pid})" for p in mp.active_children()]
    out = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        if child.pid in helpers:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            out.append(f"pid {child.pid}: {' '.join(child.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            continue
    out += [f"{p.name} (pid {p.pid})" for p in mp.active_children()
            if not any(f"pid {p.pid}:" in line for line in out)]
    return out


# ---------------------------------------------------------------- buffers

def create_buffers(num_slots: int, specs: dict[str, tuple[tuple[int, ...], torch.dtype]]) -> dict[str, torch.Tensor]:
    """Preallocate one shared-memory tensor per key, shape `(num_slots, *shape)`.

    `buffers[key][index]` is one slot's rollout. The tensors are allocated
    once, here, and moved to shared memory with `share_memory_()`, so a child
    process that receives them writes into the same pages the parent reads.
    """
    return {key: torch.zeros((num_slots, *shape), dtype=dtype).share_memory_()
            for key, (shape, dtype) in specs.items()}


def cartpole_specs(unroll_length: int, envs_per_actor: int) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Slot layout of a CartPole rollout: `unroll_length + 1` steps of `envs_per_actor` envs.

    Step 0 repeats the last step of the previous rollout (as in monobeast),
    so a slot holds T transitions and the observation to bootstrap from.
    At step t+1: `obs` seen after acting, the `action` taken and the actor's
    `logits` computed from the observation at step t, the `reward` and
    `done` that came with it, and `episode_return` (the finished episode's
    return where `done`, else 0).
    """
    T1, E = unroll_length + 1, envs_per_actor
    return {
        "obs": ((T1, E, OBS_DIM), torch.float32),
        "action": ((T1, E), torch.int64),
        "logits": ((T1, E, N_ACTIONS), torch.float32),
        "reward": ((T1, E), torch.float32),
        "done": ((T1, E), torch.bool),
        "episode_return": ((T1, E), torch.float32),
    }


def fill_free_queue(free_queue, num_slots: int) -> None:
    """Put every slot index into the free queue (all slots start empty)."""
    for index in range(num_slots):
        free_queue.put(index)


def close_queues(*queues) -> None:
    """Close multiprocessing queues without waiting to flush items nobody will read."""
    for q in queues:
        q.cancel_join_thread()
        q.close()


# ---------------------------------------------------------------- the model

class PolicyNet(nn.Module):
    """Actor-critic for CartPole: observations `(..., 4)` -> (logits `(..., 2)`, value `(...)`).

    Two separate small MLPs: with a shared torso the value loss (whose scale
    grows with the returns) would drown the policy gradient.
    """

    def __init__(self, obs_dim: int = OBS_DIM, n_actions: int = N_ACTIONS, hidden: int = 64):
        super().__init__()
        self.policy = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, n_actions))
        self.value = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.policy(obs), self.value(obs).squeeze(-1)

    def logits(self, obs: torch.Tensor) -> torch.Tensor:
        """The policy head alone (what an actor needs to act)."""
        return self.policy(obs)


# ---------------------------------------------------------------- actors (run in children)

def cartpole_actor(actor_id: int, free_queue, full_queue, buffers: dict[str, torch.Tensor],
                   model: PolicyNet, seed: int = 0) -> None:
    """Fill free slots with CartPole rollouts until a `None` index arrives.

    `model` lives in shared memory; the learner copies new weights into it,
    so the actor always acts with the latest (or a slightly stale) policy.
    """
    T = buffers["obs"].shape[1] - 1
    E = buffers["obs"].shape[2]
    torch.manual_seed(seed + 1000 * actor_id)
    envs = CartPoles(E, seed=seed + 1000 * actor_id)
    try:
        last = {"obs": envs.reset(), "action": torch.zeros(E, dtype=torch.int64),
                "logits": torch.zeros(E, N_ACTIONS), "reward": torch.zeros(E),
                "done": torch.ones(E, dtype=torch.bool), "episode_return": torch.zeros(E)}
        while True:
            index = free_queue.get()
            if index is None:
                break
            slot = {key: buf[index] for key, buf in buffers.items()}
            for key, value in last.items():          # step 0: the end of the previous rollout
                slot[key][0] = value
            obs = last["obs"]
            for t in range(T):
                with torch.no_grad():
                    logits = model.logits(obs)
                    action = torch.multinomial(torch.softmax(logits, dim=-1), 1)[:, 0]
                obs, reward, done, ep_return = envs.step(action)
                step = {"obs": obs, "action": action, "logits": logits, "reward": reward,
                        "done": done, "episode_return": ep_return}
                for key, value in step.items():
                    slot[key][t + 1] = value
            last = step
            full_queue.put(index)
    finally:
        envs.close()


def frames_producer(actor_id: int, free_queue, full_queue, buffers: dict[str, torch.Tensor]) -> None:
    """Benchmark producer, shared-memory design: write a rollout into a free slot, pass its index.

    The rollout is a fixed block of uint8 "frames" (no environment work), so
    the measurement sees only the cost of moving data to the learner.
    """
    gen = torch.Generator().manual_seed(actor_id)
    rollout = torch.randint(0, 256, buffers["frames"].shape[1:], dtype=torch.uint8, generator=gen)
    while True:
        index = free_queue.get()
        if index is None:
            break
        buffers["frames"][index].copy_(rollout)    # write into preallocated shared memory
        full_queue.put(index)                      # pass only the index


def queue_producer(actor_id: int, out_queue, stop, released, shape: tuple[int, ...]) -> None:
    """Benchmark producer, naive design: put each rollout's tensor itself into a Queue.

    torch moves every sent tensor into a fresh shared-memory block and sends
    its handle; the receiver fetches that handle from this process, so this
    process waits (for `released`) before exiting, or the receiver would fail.
    """
    gen = torch.Generator().manual_seed(actor_id)
    rollout = torch.randint(0, 256, shape, dtype=torch.uint8, generator=gen)
    while not stop.is_set():
        out_queue.put({"frames": rollout.clone()})  # a new tensor per rollout
    out_queue.put(None)
    released.wait(timeout=60)


# ---------------------------------------------------------------- throughput (run in the parent)

def _timed_batches(take_batch: Callable[[], Any], batch_size: int, seconds: float, warmup: int) -> float:
    for _ in range(warmup):
        take_batch()
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        take_batch()
        n += batch_size
    return n / (time.perf_counter() - start)


def throughput_shared_memory(get_batch: Callable[..., dict], *, num_actors: int = 2,
                             rollout_shape: tuple[int, ...] = (81, 1, 4, 84, 84), batch_size: int = 4,
                             num_slots: int | None = None, seconds: float = 1.5, warmup: int = 2,
                             ctx=None, timeout: float = 30.0) -> float:
    """Rollouts per second a learner receives when actors write into shared slots.

    `get_batch(free_queue, full_queue, buffers, batch_size, timeout)` is the
    learner's slot bookkeeping (it runs here, in the parent).
    """
    ctx = ctx or mp_context()
    num_slots = num_slots or max(2 * num_actors, batch_size) + num_actors
    buffers = create_buffers(num_slots, {"frames": (rollout_shape, torch.uint8)})
    free_queue, full_queue = ctx.Queue(), ctx.Queue()
    fill_free_queue(free_queue, num_slots)
    try:
        with ActorPool(frames_producer, num_actors, free_queue, full_queue, buffers, ctx=ctx,
                       free_queue=free_queue) as pool:
            def take():
                get_batch(free_queue, full_queue, buffers, batch_size, timeout)
                pool.check()
            return _timed_batches(take, batch_size, seconds, warmup)
    finally:
        close_queues(free_queue, full_queue)


def throughput_queue(*, num_actors: int = 2, rollout_shape: tuple[int, ...] = (81, 1, 4, 84, 84),
                     batch_size: int = 4, maxsize: int | None = None, seconds: float = 1.5,
                     warmup: int = 2, ctx=None, timeout: float = 30.0) -> float:
    """Rollouts per second a learner receives when actors send tensors through a Queue.

    The learner concatenates `batch_size` received rollouts along dim 1, the
    same batch the shared-memory learner builds.
    """
    ctx = ctx or mp_context()
    maxsize = maxsize or max(2 * num_actors, batch_size) + num_actors
    out_queue = ctx.Queue(maxsize=maxsize)
    stop, released = ctx.Event(), ctx.Event()

    def drain() -> None:
        # Stop the producers, receive everything they sent, then let them exit.
        stop.set()
        finished, deadline = 0, time.monotonic() + timeout
        while finished < num_actors and time.monotonic() < deadline:
            try:
                item = out_queue.get(timeout=1.0)
            except queue_mod.Empty:
                continue
            finished += item is None
        released.set()

    try:
        with ActorPool(queue_producer, num_actors, out_queue, stop, released, rollout_shape,
                       ctx=ctx, on_close=drain) as pool:
            def take():
                items = [out_queue.get(timeout=timeout) for _ in range(batch_size)]
                torch.cat([item["frames"] for item in items], dim=1)
                pool.check()
            return _timed_batches(take, batch_size, seconds, warmup)
    finally:
        close_queues(out_queue)

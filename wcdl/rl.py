"""CartPole plumbing for the RL notebooks: batched environments and episodes.

The notebooks are about objectives, returns and exploration; stepping
gymnasium environments and padding episodes into tensors lives here.
gymnasium is imported lazily, so `wcdl` itself needs only numpy and torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

OBS_DIM, N_ACTIONS = 4, 2          # CartPole: (x, x_dot, theta, theta_dot); push left / right
MAX_EPISODE_STEPS = 500             # CartPole-v1 truncates episodes here


class CartPoles:
    """`n` CartPole-v1 environments stepped together (gymnasium's vectorised CartPole).

    `reset()` returns observations `(n, 4)` float32. `step(actions)` returns
    torch tensors: observations `(n, 4)` float32, rewards `(n,)` float32,
    `done` `(n,)` bool and `episode_return` `(n,)` float32 (the total reward
    of an episode that ended at this step, else 0).

    As in gymnasium's vector environments, an environment whose episode
    ended is reset on its *next* step: that step ignores the action and
    returns the first observation of the new episode with reward 0. It is
    reported as `done` too, so no return or value target ever runs across
    an episode boundary. Environment `i` draws from a generator seeded with
    `seed` (one generator for the batch).
    """

    def __init__(self, n: int, seed: int = 0, max_episode_steps: int = MAX_EPISODE_STEPS):
        import gymnasium as gym

        if n < 1:
            raise ValueError(f"need at least one environment, got n={n}")
        self.n, self.seed = n, seed
        self.env = gym.make_vec("CartPole-v1", num_envs=n, vectorization_mode="vector_entry_point",
                                max_episode_steps=max_episode_steps)
        self._resetting = np.zeros(n, dtype=bool)
        self._running = np.zeros(n, dtype=np.float32)

    def reset(self) -> torch.Tensor:
        obs, _ = self.env.reset(seed=self.seed)
        self._resetting[:] = False
        self._running[:] = 0
        return torch.from_numpy(np.asarray(obs, dtype=np.float32))

    def step(self, actions) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        acts = np.asarray(actions.cpu() if isinstance(actions, torch.Tensor) else actions, dtype=np.int64)
        acts = acts.reshape(self.n)
        obs, reward, terminated, truncated, _ = self.env.step(acts)
        ended = np.logical_or(terminated, truncated)
        done = ended | self._resetting
        self._running += reward
        ep_return = np.where(ended, self._running, 0).astype(np.float32)
        self._running[done] = 0
        self._resetting = ended
        return (torch.from_numpy(np.asarray(obs, dtype=np.float32)), torch.from_numpy(reward.astype(np.float32)),
                torch.from_numpy(done), torch.from_numpy(ep_return))

    def close(self) -> None:
        self.env.close()

    def __enter__(self) -> "CartPoles":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Episodes:
    """A batch of complete episodes, padded to the longest one.

    obs `(n, T, 4)`, actions `(n, T)` int64, rewards `(n, T)` float32 and
    mask `(n, T)` bool (True on the steps that belong to the episode; after
    an episode ends its rewards are 0 and its mask False); `returns` `(n,)`
    holds each episode's total reward.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: torch.Tensor
    mask: torch.Tensor

    @property
    def returns(self) -> torch.Tensor:
        return self.rewards.sum(dim=1)

    @property
    def lengths(self) -> torch.Tensor:
        return self.mask.sum(dim=1)


def run_episodes(policy: Callable[[torch.Tensor], torch.Tensor], n: int, seed: int = 0,
                 max_episode_steps: int = MAX_EPISODE_STEPS) -> Episodes:
    """Run one episode in each of `n` CartPoles with `policy`; return them padded.

    `policy(obs)` maps a `(n, 4)` float32 observation batch to `(n,)` int64
    actions; it is called under `torch.no_grad()` once per time step for
    the whole batch (environments whose episode already ended still get an
    action, which is ignored).
    """
    with CartPoles(n, seed, max_episode_steps) as envs, torch.no_grad():
        obs = envs.reset()
        alive = torch.ones(n, dtype=torch.bool)
        O, A, R, M = [], [], [], []
        while alive.any():
            action = policy(obs).reshape(n).long()
            nxt, reward, done, _ = envs.step(action)
            O.append(obs)
            A.append(action)
            R.append(reward * alive)
            M.append(alive.clone())
            alive &= ~done
            obs = nxt
    return Episodes(torch.stack(O, 1), torch.stack(A, 1), torch.stack(R, 1), torch.stack(M, 1))


def random_policy(obs: torch.Tensor) -> torch.Tensor:
    """Push left or right with probability 1/2 each (the baseline to beat)."""
    return torch.randint(0, N_ACTIONS, (obs.shape[0],))


def sample_policy(logits_fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A policy that samples actions from softmax(logits_fn(obs))."""
    def policy(obs: torch.Tensor) -> torch.Tensor:
        return torch.multinomial(torch.softmax(logits_fn(obs), dim=-1), 1)[:, 0]
    return policy


def greedy_policy(logits_fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """A policy that takes the most likely action of logits_fn(obs)."""
    def policy(obs: torch.Tensor) -> torch.Tensor:
        return logits_fn(obs).argmax(dim=-1)
    return policy

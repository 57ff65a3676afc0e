"""Unit tests of wcdl.rl: batched CartPoles and padded episodes."""

import numpy as np
import pytest
import torch

from wcdl import rl


def test_cartpoles_shapes_and_reset_step_semantics():
    with rl.CartPoles(4, seed=0) as envs:
        obs = envs.reset()
        assert obs.shape == (4, rl.OBS_DIM) and obs.dtype == torch.float32
        steps = np.zeros(4, dtype=int)
        saw_done = np.zeros(4, dtype=bool)
        resetting = np.zeros(4, dtype=bool)
        for _ in range(200):
            obs, reward, done, ep_return = envs.step(torch.zeros(4, dtype=torch.int64))  # always push left: short episodes
            assert obs.shape == (4, 4) and reward.shape == done.shape == ep_return.shape == (4,)
            assert done.dtype == torch.bool and reward.dtype == torch.float32
            d, r, er = done.numpy(), reward.numpy(), ep_return.numpy()
            # the step after an episode's end is the reset step: done, reward 0, no episode return
            assert np.all(d[resetting]) and np.all(r[resetting] == 0) and np.all(er[resetting] == 0)
            steps[~resetting] += 1
            ended = d & ~resetting
            assert np.all(er[ended] == steps[ended]), "episode return = number of +1 rewards"
            assert np.all(er[~ended] == 0)
            steps[ended] = 0
            saw_done |= ended
            resetting = ended
        assert saw_done.all()


def test_cartpoles_rejects_wrong_action_count():
    with rl.CartPoles(2, seed=0) as envs:
        envs.reset()
        with pytest.raises(ValueError):
            envs.step(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError):
        rl.CartPoles(0)


def test_run_episodes_pads_and_masks():
    torch.manual_seed(0)
    ep = rl.run_episodes(rl.random_policy, 12, seed=3)
    n, T = ep.rewards.shape
    assert n == 12 and ep.obs.shape == (n, T, 4) and ep.actions.shape == (n, T) and ep.mask.shape == (n, T)
    assert ep.actions.dtype == torch.int64 and ep.mask.dtype == torch.bool
    lengths = ep.mask.sum(1)
    # the mask is a prefix: True for the first `length` steps, then False
    assert torch.equal(ep.mask, torch.arange(T)[None, :] < lengths[:, None])
    assert torch.equal(ep.returns, lengths.float()), "CartPole pays +1 per step"
    assert torch.all(ep.rewards[~ep.mask] == 0)
    assert int(lengths.max()) == T


def test_random_policy_baseline_and_policies():
    torch.manual_seed(0)
    ep = rl.run_episodes(rl.random_policy, 100, seed=1)
    assert 15 < ep.returns.mean().item() < 30
    net = torch.nn.Linear(4, 2)
    obs = torch.randn(5, 4)
    assert rl.sample_policy(net)(obs).shape == (5,)
    assert torch.equal(rl.greedy_policy(net)(obs), net(obs).argmax(-1))


def test_run_episodes_is_reproducible():
    torch.manual_seed(0)
    a = rl.run_episodes(rl.random_policy, 4, seed=9)
    torch.manual_seed(0)
    b = rl.run_episodes(rl.random_policy, 4, seed=9)
    assert torch.equal(a.rewards, b.rewards) and torch.equal(a.obs, b.obs)

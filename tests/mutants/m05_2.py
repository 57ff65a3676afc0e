"""Plausible wrong answers for m05_2_policy_gradient.

No graded test calls another exercise's function, so each mutant fails only
its own exercise (the training cells use them but are not graded). Loop
mutants give correct values and fail only the op-count check.
"""

from tests.mutants import M

NB = "m05_2_policy_gradient"

MUTANTS = [
    # discounted_returns
    M(NB, "m05_discounted_returns_answer", "D = torch.triu(D)", "D = torch.triu(D, diagonal=1)",
      "m05_discounted_returns", "returns: strict upper triangle, r_t itself left out (off by one)"),
    M(NB, "m05_discounted_returns_answer", "D = torch.triu(D)", "D = torch.tril(D)",
      "m05_discounted_returns", "returns: lower triangle, rewards summed forwards in time"),
    M(NB, "m05_discounted_returns_answer", "return rewards @ D.T",
      "G = torch.zeros_like(rewards)\n"
      "    running = torch.zeros_like(rewards[..., 0])\n"
      "    for step in reversed(range(T)):\n"
      "        running = rewards[..., step] + gamma * running\n"
      "        G[..., step] = running\n"
      "    return G",
      "m05_discounted_returns", "returns: Python loop over time (op count grows)"),
    M(NB, "m05_discounted_returns_answer", "return rewards @ D.T",
      "w = gamma ** torch.arange(T, dtype=rewards.dtype, device=rewards.device)\n"
      "    return torch.flip(torch.cumsum(torch.flip(w * rewards, [-1]), -1), [-1]) / w",
      "m05_discounted_returns", "returns: reversed cumsum / gamma**t (fails only hidden long-episode and gamma=0 cases)", hidden_only=True),
    M(NB, "m05_discounted_returns_answer", "D = torch.full((T, T), gamma, dtype=rewards.dtype, device=rewards.device)",
      "D = torch.full((T, T), gamma, device=rewards.device)",
      "m05_discounted_returns", "returns: discount matrix always float32 (fails only the hidden float64 case)", hidden_only=True),
    # reinforce_loss
    M(NB, "m05_reinforce_loss_answer", "advantage = (returns - values).detach()", "advantage = returns - values",
      "m05_reinforce_loss", "reinforce: advantage not detached, policy loss trains the baseline"),
    M(NB, "m05_reinforce_loss_answer", "advantage = (returns - values).detach()", "advantage = returns",
      "m05_reinforce_loss", "reinforce: baseline not subtracted"),
    M(NB, "m05_reinforce_loss_answer", "n = m.sum()", "n = m.numel()",
      "m05_reinforce_loss", "reinforce: divides by all steps, padding included"),
    M(NB, "m05_reinforce_loss_answer", "policy_loss = -(logp", "policy_loss = (logp",
      "m05_reinforce_loss", "reinforce: sign flipped (gradient descent on the return)"),
    M(NB, "m05_reinforce_loss_answer", "torch.log_softmax(logits, dim=-1)", "torch.softmax(logits, dim=-1)",
      "m05_reinforce_loss", "reinforce: probabilities instead of log-probabilities"),
    # categorical_entropy
    M(NB, "m05_categorical_entropy_answer", "logp = torch.log_softmax(logits, dim=-1)\n    p = logp.exp()",
      "p = torch.softmax(logits, dim=-1)\n    logp = torch.log(p)",
      "m05_categorical_entropy", "entropy: log(softmax), NaN for -inf or huge logits"),
    M(NB, "m05_categorical_entropy_answer",
      "    logp = logp.clamp(min=torch.finfo(logp.dtype).min)   # -inf -> most negative finite number\n", "",
      "m05_categorical_entropy", "entropy: no clamp, 0 * -inf = NaN for masked actions"),
    M(NB, "m05_categorical_entropy_answer", "return -(p * logp).sum(dim=-1)", "return (p * logp).sum(dim=-1)",
      "m05_categorical_entropy", "entropy: minus sign missing"),
    M(NB, "m05_categorical_entropy_answer", "return -(p * logp).sum(dim=-1)", "return -(p * logp).sum(dim=0)",
      "m05_categorical_entropy", "entropy: summed over the batch axis"),
    # epsilon_greedy_probs
    M(NB, "m05_epsilon_greedy_answer", "return epsilon / A + (1 - epsilon) * greedy", "return epsilon + (1 - epsilon) * greedy",
      "m05_epsilon_greedy", "epsilon-greedy: epsilon on every action (rows do not sum to 1)"),
    M(NB, "m05_epsilon_greedy_answer", "(1 - epsilon) * greedy", "greedy",
      "m05_epsilon_greedy", "epsilon-greedy: greedy action gets 1 instead of 1 - epsilon"),
    M(NB, "m05_epsilon_greedy_answer", "scores.argmax(dim=-1)", "scores.argmax(dim=0)",
      "m05_epsilon_greedy", "epsilon-greedy: argmax over the batch axis"),
    M(NB, "m05_epsilon_greedy_answer", "greedy = F.one_hot(scores.argmax(dim=-1), A).to(scores.dtype)",
      "greedy = torch.stack([F.one_hot(row.argmax(), A) for row in scores.reshape(-1, A)]).reshape(scores.shape).to(scores.dtype)",
      "m05_epsilon_greedy", "epsilon-greedy: loop over rows (op count grows)"),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m05_reinforce_loss_answer", "torch.log_softmax(logits, dim=-1)", "torch.log(torch.softmax(logits, dim=-1))",
      "m05_reinforce_loss", "reinforce: log(softmax) is -inf for far-apart logits", hidden_only=True),
    M(NB, "m05_reinforce_loss_answer", "torch.log_softmax(logits, dim=-1)", "torch.log_softmax(logits, dim=2)",
      "m05_reinforce_loss", "reinforce: log_softmax over dim 2, right only for 3-D logits", hidden_only=True),
    M(NB, "m05_categorical_entropy_answer", "logp.clamp(min=torch.finfo(logp.dtype).min)", "logp.clamp(min=-1e9)",
      "m05_categorical_entropy", "entropy: clamps at -1e9, which float16 cannot hold", hidden_only=True),
    M(NB, "m05_categorical_entropy_answer", "return -(p * logp).sum(dim=-1)", "return -(p * logp).sum(dim=1)",
      "m05_categorical_entropy", "entropy: summed over dim 1, right only for 2-D logits", hidden_only=True),
    M(NB, "m05_epsilon_greedy_answer", "greedy = F.one_hot(scores.argmax(dim=-1), A).to(scores.dtype)",
      "greedy = (scores == scores.amax(dim=-1, keepdim=True)).to(scores.dtype)",
      "m05_epsilon_greedy", "epsilon-greedy: every tied maximum gets 1 - epsilon", hidden_only=True),
    M(NB, "m05_epsilon_greedy_answer", "F.one_hot(scores.argmax(dim=-1), A).to(scores.dtype)",
      "F.one_hot(scores.argmax(dim=-1), A).float()",
      "m05_epsilon_greedy", "epsilon-greedy: probabilities always float32", hidden_only=True),
]

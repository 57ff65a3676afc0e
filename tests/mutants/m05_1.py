"""Plausible wrong answers for m05_1_reparameterization.

negative_elbo calls the learner's gaussian_kl, so every gaussian_kl mutant also
fails m05_negative_elbo (on purpose: a wrong KL makes a wrong ELBO). Loop
mutants give correct values and fail only the op-count check.
"""

from tests.mutants import M

NB = "m05_1_reparameterization"

MUTANTS = [
    # reparameterize
    M(NB, "m05_reparameterize_answer", "std = torch.exp(0.5 * logvar)", "std = torch.exp(logvar)",
      "m05_reparameterize", "reparameterize: std = exp(logvar), i.e. the variance"),
    M(NB, "m05_reparameterize_answer", "return mu + std * eps", "return (mu + std * eps).detach()",
      "m05_reparameterize", "reparameterize: sample detached, no gradient to mu and logvar"),
    M(NB, "m05_reparameterize_answer", "return mu + std * eps", "return torch.normal(mu, std)",
      "m05_reparameterize", "reparameterize: torch.normal (ignores eps, zero gradients)"),
    M(NB, "m05_reparameterize_answer", "eps = torch.randn_like(mu)", "eps = torch.rand_like(mu)",
      "m05_reparameterize", "reparameterize: uniform noise instead of standard normal"),
    # gaussian_kl (negative_elbo calls it)
    M(NB, "m05_gaussian_kl_answer", "return 0.5 * (", "return (",
      "m05_gaussian_kl m05_negative_elbo", "kl: factor 1/2 missing"),
    M(NB, "m05_gaussian_kl_answer", ".sum(dim=-1)", ".mean(dim=-1)",
      "m05_gaussian_kl m05_negative_elbo", "kl: mean over latent dimensions instead of sum"),
    M(NB, "m05_gaussian_kl_answer", "- 1.0 - logvar)", "- 1.0 + logvar)",
      "m05_gaussian_kl m05_negative_elbo", "kl: sign of the log-variance term"),
    M(NB, "m05_gaussian_kl_answer", ".sum(dim=-1)", ".sum()",
      "m05_gaussian_kl m05_negative_elbo", "kl: summed over the batch too (a scalar)"),
    # negative_elbo
    M(NB, "m05_negative_elbo_answer", 'reduction="none").sum(dim=-1)', 'reduction="none").mean(dim=-1)',
      "m05_negative_elbo", "elbo: reconstruction averaged over pixels instead of summed"),
    M(NB, "m05_negative_elbo_answer", "gaussian_kl(mu, logvar)).mean()", "gaussian_kl(mu, logvar)).sum()",
      "m05_negative_elbo", "elbo: summed over the batch instead of averaged"),
    M(NB, "m05_negative_elbo_answer", "(recon + gaussian_kl", "(recon - gaussian_kl",
      "m05_negative_elbo", "elbo: KL subtracted from the loss"),
    M(NB, "m05_negative_elbo_answer", "F.binary_cross_entropy_with_logits(x_logits, x,",
      "F.binary_cross_entropy(torch.sigmoid(x_logits), x,",
      "m05_negative_elbo", "elbo: sigmoid then BCE (fails only the hidden saturated-logit case)", hidden_only=True),
    # pathwise
    M(NB, "m05_pathwise_grad_answer", "z = theta_i + sigma * eps", "z = theta_i + eps",
      "m05_pathwise_grad", "pathwise: sigma forgotten in the sample"),
    M(NB, "m05_pathwise_grad_answer", "f(z).sum()", "f(z).mean()",
      "m05_pathwise_grad", "pathwise: gradient of the mean (each estimate divided by n)"),
    M(NB, "m05_pathwise_grad_answer",
      "theta_i = torch.full_like(eps, float(theta), requires_grad=True)   # one copy of theta per sample\n"
      "    z = theta_i + sigma * eps\n"
      "    (g,) = torch.autograd.grad(f(z).sum(), theta_i)\n"
      "    return g",
      "grads = []\n"
      "    for e in eps:\n"
      "        t = torch.tensor(float(theta), dtype=eps.dtype, requires_grad=True)\n"
      "        (gi,) = torch.autograd.grad(f(t + sigma * e), t)\n"
      "        grads.append(gi)\n"
      "    return torch.stack(grads)",
      "m05_pathwise_grad", "pathwise: one backward pass per sample (op count grows)"),
    # score function
    M(NB, "m05_score_function_grad_answer", "score = eps / sigma", "score = eps",
      "m05_score_function_grad", "score: 1/sigma missing from the score"),
    M(NB, "m05_score_function_grad_answer", "score = eps / sigma", "score = eps / sigma ** 2",
      "m05_score_function_grad", "score: (z - theta) / sigma^2 with eps in place of z - theta"),
    M(NB, "m05_score_function_grad_answer", "return (f(z) - baseline) * score", "return f(z) * score",
      "m05_score_function_grad", "score: baseline ignored"),
    M(NB, "m05_score_function_grad_answer",
      "z = theta + sigma * eps\n    score = eps / sigma\n    return (f(z) - baseline) * score",
      "return torch.stack([(f(theta + sigma * e) - baseline) * e / sigma for e in eps])",
      "m05_score_function_grad", "score: loop over samples (op count grows)"),
    # generated hidden cases and the contract (wcdl.checks.call_checked)
    M(NB, "m05_reparameterize_answer", "    if eps is None:\n        eps = torch.randn_like(mu)\n",
      "    noise = torch.randn_like(mu)\n    if eps is None:\n        eps = noise\n",
      "m05_reparameterize", "reparameterize: draws from the global generator even when eps is given", hidden_only=True),
    M(NB, "m05_reparameterize_answer", "std = torch.exp(0.5 * logvar)", "std = torch.sqrt(torch.exp(logvar))",
      "m05_reparameterize", "reparameterize: sqrt(exp(logvar)) overflows and has NaN gradients", hidden_only=True),
    M(NB, "m05_gaussian_kl_answer", "- 1.0 - logvar)", "- 1.0 - torch.log(logvar.exp()))",
      "m05_gaussian_kl", "kl: log(exp(logvar)) is -inf once exp underflows", hidden_only=True),
    M(NB, "m05_gaussian_kl_answer", ".sum(dim=-1)", ".sum(dim=1)",
      "m05_gaussian_kl", "kl: summed over dim 1, right only for 2-D inputs", hidden_only=True),
    M(NB, "m05_negative_elbo_answer", "F.binary_cross_entropy_with_logits(x_logits, x,",
      "F.binary_cross_entropy(torch.sigmoid(x_logits).clamp(1e-6, 1 - 1e-6), x,",
      "m05_negative_elbo", "elbo: clamped sigmoid then BCE (wrong for large logits)", hidden_only=True),
    M(NB, "m05_pathwise_grad_answer", "theta_i = torch.full_like(eps, float(theta), requires_grad=True)",
      "theta_i = torch.full(eps.shape, float(theta), requires_grad=True)",
      "m05_pathwise_grad", "pathwise: theta copies always float32", hidden_only=True),
    M(NB, "m05_pathwise_grad_answer",
      "theta_i = torch.full_like(eps, float(theta), requires_grad=True)   # one copy of theta per sample\n"
      "    z = theta_i + sigma * eps\n"
      "    (g,) = torch.autograd.grad(f(z).sum(), theta_i)\n"
      "    return g",
      "eps.requires_grad_(True)\n"
      "    z = theta + sigma * eps\n"
      "    (g,) = torch.autograd.grad(f(z).sum(), eps)\n"
      "    return g / sigma",
      "m05_pathwise_grad", "pathwise: gradient w.r.t. the caller's eps (turns on its requires_grad)", hidden_only=True),
    M(NB, "m05_score_function_grad_answer", "z = theta + sigma * eps\n", "eps = eps.float()\n    z = theta + sigma * eps\n",
      "m05_score_function_grad", "score: noise cast to float32", hidden_only=True),
    M(NB, "m05_score_function_grad_answer", "score = eps / sigma", "score = eps\n    score /= sigma",
      "m05_score_function_grad", "score: divides the caller's eps in place"),
    M(NB, "m05_reparameterize_answer", "eps = torch.randn_like(mu)", "eps = torch.randn(mu.shape)",
      "m05_reparameterize", "reparameterize: float32 noise promotes a float16/bfloat16 sample", hidden_only=True),
]

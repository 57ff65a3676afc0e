"""Plausible wrong answers for m01_2_normalization_and_dropout.

layer_norm and dropout are independent exercises (the demo cells use
layer_norm, but no graded test outside its own exercise does), so every
mutant fails only its own exercise. Some pass the visible tests and are
caught only by the hidden ones: the one-pass variance (large offsets), eps
outside the root (small activations), the missing p == 1 guard.
The hidden_only ones pass the visible tests and lose the hidden test's point alone.
"""

from tests.mutants import M

NB = "m01_2_normalization_and_dropout"
LN = "m01_layer_norm_answer"
DO = "m01_dropout_answer"

MUTANTS = [
    # layer_norm
    M(NB, LN, "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)", "var = x.var(dim=-1, keepdim=True)",
      "m01_layer_norm", "layer_norm: unbiased variance (torch.var's default)"),
    M(NB, LN, "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
      "var = (x ** 2).mean(dim=-1, keepdim=True) - mean ** 2",
      "m01_layer_norm", "layer_norm: one-pass E[x^2] - E[x]^2 variance, cancels for large offsets", hidden_only=True),
    M(NB, LN, "torch.sqrt(var + eps)", "(torch.sqrt(var) + eps)",
      "m01_layer_norm", "layer_norm: eps added outside the square root", hidden_only=True),
    M(NB, LN, "mean = x.mean(dim=-1, keepdim=True)", "mean = x.mean(dim=0, keepdim=True)",
      "m01_layer_norm", "layer_norm: mean over the first axis instead of the last"),
    # dropout
    M(NB, DO, "device=x.device) >= p\n    return", "device=x.device) < p\n    return",
      "m01_dropout", "dropout: keeps with probability p instead of 1 - p"),
    M(NB, DO, "return x * keep / (1.0 - p)", "return x * keep",
      "m01_dropout", "dropout: kept values not rescaled by 1 / (1 - p)"),
    M(NB, DO, "if not training or p == 0.0:", "if p == 0.0:",
      "m01_dropout", "dropout: training flag ignored, still drops in eval mode"),
    M(NB, DO, "    if p == 1.0:\n        return torch.zeros_like(x)\n", "",
      "m01_dropout", "dropout: no p == 1 guard, 0 / 0 gives NaN", hidden_only=True),
    M(NB, DO, "    if not 0.0 <= p <= 1.0:\n        raise ValueError(f\"dropout probability must be in [0, 1], got {p}\")\n", "",
      "m01_dropout", "dropout: p outside [0, 1] not rejected", hidden_only=True),
    M(NB, DO, "keep = torch.rand(x.shape, generator=generator, device=x.device) >= p\n    return",
      "keep = (torch.rand(x.shape, generator=generator, device=x.device) >= p).float()\n    return",
      "m01_dropout", "dropout: float32 mask promotes float16 / bfloat16 inputs", hidden_only=True),
    M(NB, DO, "keep = torch.rand(x.shape, generator=generator, device=x.device) >= p\n    return",
      "if generator is not None:\n        torch.manual_seed(generator.initial_seed())\n"
      "    keep = torch.rand(x.shape, device=x.device) >= p\n    return",
      "m01_dropout", "dropout: reseeds the global RNG from the generator (same mask, caller's RNG state lost)",
      hidden_only=True),
]

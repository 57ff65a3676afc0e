"""Wrong answers for m01_3_bert_is_matmuls (BERT is just matmuls).

encoder_layer calls the learner's multi_head_attention and minilm_forward calls
encoder_layer, so a mutant that computes wrong attention values also fails those two
exercises (on purpose: the notebook builds the model bottom-up). A loop over heads
gives correct values, so it fails only m01_attention, through the op-count check.
"""

from tests.mutants import M

NB = "m01_3_bert_is_matmuls"
ATT = "m01_attention m01_encoder_layer m01_minilm_forward"   # wrong attention breaks the two callers too

MUTANTS = [
    # --- multi_head_attention
    M(NB, "m01_attention_answer",
      "scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)",
      "scores = q @ k.transpose(-2, -1)",
      ATT, "no 1/sqrt(head_dim) scale (breaks encoder_layer and minilm_forward too)"),
    M(NB, "m01_attention_answer",
      "weights = torch.softmax(scores + additive, dim=-1)",
      "weights = torch.softmax(scores, dim=-1)",
      ATT, "padding mask ignored (breaks the callers too)"),
    M(NB, "m01_attention_answer",
      "attention_mask[:, None, None, :]",
      "attention_mask[:, None, :, None]",
      ATT, "mask applied to padding queries instead of keys (breaks the callers too)"),
    M(NB, "m01_attention_answer",
      "return t.reshape(batch, seq, n_heads, head_dim).transpose(1, 2)",
      "return t.reshape(batch, n_heads, seq, head_dim)",
      ATT, "heads split by reshape without transpose (breaks the callers too)"),
    M(NB, "m01_attention_answer",
      "context = (weights @ v).transpose(1, 2).reshape(batch, seq, d)",
      "context = torch.cat([weights[:, h] @ v[:, h] for h in range(n_heads)], dim=-1)",
      "m01_attention", "Python loop over heads (right values, op count grows)"),
    # --- encoder_layer (minilm_forward calls it, so it fails too)
    M(NB, "m01_encoder_layer_answer",
      'ff = F.gelu(h @ params["ff1_w"].T + params["ff1_b"])',
      'ff = F.gelu(h @ params["ff1_w"].T + params["ff1_b"], approximate="tanh")',
      "m01_encoder_layer m01_minilm_forward", "tanh-approximate GELU instead of exact erf GELU"),
    M(NB, "m01_encoder_layer_answer",
      "F.layer_norm(h + ff,",
      "F.layer_norm(ff,",
      "m01_encoder_layer m01_minilm_forward", "no residual around the feed-forward block"),
    M(NB, "m01_encoder_layer_answer",
      "F.layer_norm(h + ff,",
      "F.layer_norm(x + ff,",
      "m01_encoder_layer m01_minilm_forward", "feed-forward residual taken from the layer input x"),
    # --- minilm_forward
    M(NB, "m01_minilm_forward_answer",
      "model.embeddings(input_ids=input_ids, token_type_ids=token_type_ids)",
      "model.embeddings(input_ids=input_ids)",
      "m01_minilm_forward", "token_type_ids dropped (only sentence pairs notice)"),
    M(NB, "m01_minilm_forward_answer",
      "for layer in model.encoder.layer:",
      "for layer in model.encoder.layer[:-1]:",
      "m01_minilm_forward", "last layer skipped"),
    M(NB, "m01_minilm_forward_answer",
      "n_heads, eps = model.config.num_attention_heads, model.config.layer_norm_eps",
      "n_heads, eps = 12, 1e-12",
      "m01_minilm_forward", "heads and eps hard-coded to MiniLM's values"),
    M(NB, "m01_minilm_forward_answer",
      "x = encoder_layer(x, attention_mask,",
      "x = encoder_layer(x, torch.ones_like(attention_mask),",
      "m01_minilm_forward", "padding mask not passed to the layers"),
    # --- param_count
    M(NB, "m01_param_count_answer",
      "attention = 4 * (d * d + d)",
      "attention = 4 * d * d",
      "m01_param_count", "attention biases forgotten"),
    M(NB, "m01_param_count_answer",
      "embeddings = (vocab + max_pos + type_vocab) * d + 2 * d",
      "embeddings = (vocab + max_pos + type_vocab) * d",
      "m01_param_count", "embedding LayerNorm forgotten"),
    M(NB, "m01_param_count_answer",
      "total = embeddings + n_layers * (attention + ffn + layernorm) + pooler",
      "total = embeddings + n_layers * (attention + ffn + layernorm)",
      "m01_param_count", "pooler left out of the total"),
    # --- flops_per_token
    M(NB, "m01_flops_per_token_answer",
      "linear = 2 * (4 * d * d + 2 * d * d_ff)",
      "linear = 4 * d * d + 2 * d * d_ff",
      "m01_flops_per_token", "multiply-adds counted as 1 FLOP"),
    M(NB, "m01_flops_per_token_answer",
      "attention = 2 * 2 * seq_len * d",
      "attention = 2 * seq_len * d",
      "m01_flops_per_token", "only q @ k^T counted, not weights @ v"),
    M(NB, "m01_flops_per_token_answer",
      "attention = 2 * 2 * seq_len * d",
      "attention = 2 * 2 * seq_len * seq_len * d",
      "m01_flops_per_token", "attention FLOPs per sequence, not per token"),
]

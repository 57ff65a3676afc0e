"""Plausible wrong answers for m01_1_embeddings_are_lookup_tables.

embed_with_matmul calls the learner's one_hot, so the off-by-one one_hot
mutant also fails m01_embedding_matmul, on purpose: the notebook builds the
matmul lookup on top of one_hot. The other one_hot mutants (a loop gives the
right values; the missing guard only shows on bad ids) fail m01_one_hot alone.
bert_embeddings uses plain indexing, so no one_hot or embed_with_matmul mutant
reaches it. hidden_only mutants pass the visible tests and lose the hidden
test's point alone.
"""

from tests.mutants import M

NB = "m01_1_embeddings_are_lookup_tables"
OH = "m01_one_hot_answer"
EM = "m01_embedding_matmul_answer"
BE = "m01_bert_embeddings_answer"

_GUARD = """    if ids.numel() > 0 and (int(ids.min()) < 0 or int(ids.max()) >= num_classes):
        raise ValueError(
            f"ids must lie in [0, {num_classes}), got min {int(ids.min())} and max {int(ids.max())}"
        )
"""

_LOOP = """    out = torch.zeros(*ids.shape, num_classes, device=ids.device)
    flat = out.view(-1, num_classes)
    for k, i in enumerate(ids.reshape(-1).tolist()):
        flat[k, i] = 1.0
    return out"""

MUTANTS = [
    # one_hot
    M(NB, OH, "    return (ids.unsqueeze(-1) == classes).to(torch.float32)", _LOOP,
      "m01_one_hot", "one_hot: Python loop over the ids (right values, op count grows)"),
    M(NB, OH, _GUARD, "",
      "m01_one_hot", "one_hot: no range check, out-of-range ids give a silent zero row", hidden_only=True),
    M(NB, OH, "(int(ids.min()) < 0 or int(ids.max()) >= num_classes)", "int(ids.max()) >= num_classes",
      "m01_one_hot", "one_hot: only the upper bound checked, negative ids give a zero row", hidden_only=True),
    M(NB, OH, "if ids.numel() > 0 and (", "if (",
      "m01_one_hot m01_embedding_matmul", "one_hot: min() of an empty tensor raises (embed_with_matmul of no ids too)",
      hidden_only=True),
    M(NB, OH, "    return (ids.unsqueeze(-1) == classes).to(torch.float32)",
      "    return torch.tensor([[float(i == j) for j in range(num_classes)] for i in ids.reshape(-1).tolist()])"
      ".reshape(*ids.shape, num_classes)",
      "m01_one_hot", "one_hot: Python loop over ids.tolist() (few torch ops, values leave torch)"),
    M(NB, OH, "classes = torch.arange(num_classes, device=ids.device)",
      "classes = torch.arange(1, num_classes + 1, device=ids.device)",
      "m01_one_hot m01_embedding_matmul", "one_hot: classes counted from 1 (off by one; breaks embed_with_matmul too)"),
    # embed_with_matmul
    M(NB, EM, "one_hot(ids, weight.shape[0])", "one_hot(ids, weight.shape[1])",
      "m01_embedding_matmul", "embed_with_matmul: one-hot width taken from D instead of V"),
    M(NB, EM, ".to(weight.dtype) @ weight", " @ weight",
      "m01_embedding_matmul", "embed_with_matmul: no cast to the table's dtype (float64 table)", hidden_only=True),
    M(NB, EM, "return one_hot(ids, weight.shape[0]).to(weight.dtype) @ weight",
      "return (one_hot(ids.reshape(-1), weight.shape[0]).to(weight.dtype) @ weight)"
      ".reshape(ids.shape[0], ids.shape[1], -1)",
      "m01_embedding_matmul", "embed_with_matmul: assumes 2-d (batch, seq) ids", hidden_only=True),
    M(NB, EM, "return one_hot(ids, weight.shape[0]).to(weight.dtype) @ weight", "return weight[ids]",
      "m01_embedding_matmul", "embed_with_matmul: indexing instead of the matmul (op check)"),
    # bert_embeddings
    M(NB, BE, "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)", "var = x.var(dim=-1, keepdim=True)",
      "m01_bert_embeddings", "bert_embeddings: unbiased variance (torch.var's default)"),
    M(NB, BE, "torch.arange(seq_len, device=input_ids.device)",
      "torch.arange(1, seq_len + 1, device=input_ids.device)",
      "m01_bert_embeddings", "bert_embeddings: positions start at 1 (off by one)"),
    M(NB, BE, "pos_emb[positions] + type_emb[token_type_ids]", "pos_emb[positions] + type_emb[0]",
      "m01_bert_embeddings", "bert_embeddings: segment ids ignored, row 0 always (sentence pairs)", hidden_only=True),
    M(NB, BE, "torch.sqrt(var + eps)", "torch.sqrt(var)",
      "m01_bert_embeddings", "bert_embeddings: eps left out (eps=0.1 case)", hidden_only=True),
    M(NB, BE, "var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)",
      "var = (x ** 2).mean(dim=-1, keepdim=True) - mean ** 2",
      "m01_bert_embeddings", "bert_embeddings: one-pass E[x^2] - E[x]^2 variance, cancels for large offsets",
      hidden_only=True),
]

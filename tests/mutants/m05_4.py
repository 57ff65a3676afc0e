"""Plausible wrong answers for m05_4_keep_the_accelerator_fed.

No graded test calls another exercise's function, so each mutant fails only
its own exercise (the demonstration cells use them, ungraded).
"""

from tests.mutants import M

NB = "m05_4_keep_the_accelerator_fed"
PK = "m05_pack_sequences_answer"
DM = "m05_document_mask_answer"
CI = "m05_collate_into_answer"
SL = "m05_simulate_loader_answer"

MUTANTS = [
    # pack_sequences
    M(NB, PK, "        stream.append(eos_id)\n", "",
      "m05_pack_sequences", "pack_sequences: documents not closed with eos"),
    M(NB, PK, "    stream = list(carry)\n", "    stream = []\n",
      "m05_pack_sequences", "pack_sequences: the carried tokens are dropped"),
    M(NB, PK, "    return rows, stream[used:]", "    return rows, []",
      "m05_pack_sequences", "pack_sequences: the leftover is thrown away"),
    M(NB, PK, "    stream = list(carry)\n", "    stream = carry if isinstance(carry, list) else list(carry)\n",
      "m05_pack_sequences", "pack_sequences: extends the caller's carry list in place", hidden_only=True),
    M(NB, PK, "    if seq_len < 1:\n        raise ValueError(f\"seq_len must be >= 1, got {seq_len}\")\n", "",
      "m05_pack_sequences", "pack_sequences: no check of seq_len (ZeroDivisionError)", hidden_only=True),
    # document_mask
    M(NB, DM, "    return same & causal", "    return same",
      "m05_document_mask", "document_mask: not causal"),
    M(NB, DM, ".tril()", ".triu()",
      "m05_document_mask", "document_mask: attends to the future, not the past"),
    M(NB, DM, ".tril()", ".tril(-1)",
      "m05_document_mask", "document_mask: a token may not attend to itself"),
    M(NB, DM, "    segment = (rows == bos_id).cumsum(dim=-1)\n",
      "    if rows.dim() > 1:\n"
      "        return torch.stack([document_mask(r, bos_id) for r in rows])\n"
      "    segment = (rows == bos_id).cumsum(dim=-1)\n",
      "m05_document_mask", "document_mask: a Python loop over the rows", hidden_only=True),
    M(NB, DM, "    segment = (rows == bos_id).cumsum(dim=-1)\n", "    segment = (rows == bos_id).cumsum(dim=0)\n",
      "m05_document_mask", "document_mask: counts documents along the batch axis"),
    # collate_into
    M(NB, CI, "    L = max(lengths, default=0)\n", "    L = ids_buffer.shape[1]\n",
      "m05_collate_into", "collate_into: pads to the buffer's width, not to the longest sample"),
    M(NB, CI, "    ids[filled] = flat\n",
      "    for b, s in enumerate(samples):\n"
      "        ids[b, :len(s)] = torch.tensor(s, dtype=ids.dtype)\n",
      "m05_collate_into", "collate_into: one torch.tensor per sample"),
    M(NB, CI, "    return ids, mask", "    return ids.clone(), mask.clone()",
      "m05_collate_into", "collate_into: returns copies, not the buffers"),
    M(NB, CI,
      "    if B > ids_buffer.shape[0] or L > ids_buffer.shape[1]:\n"
      "        raise ValueError(f\"a batch of {B} samples of up to {L} tokens does not fit buffers of shape \"\n"
      "                         f\"{tuple(ids_buffer.shape)}\")\n",
      "",
      "m05_collate_into", "collate_into: no size check (an unclear error, half-written buffers)", hidden_only=True),
    M(NB, CI, "    mask.copy_(filled)\n", "    mask[filled] = 1\n",
      "m05_collate_into", "collate_into: the mask's padding is not written (an earlier batch shows through)"),
    # simulate_loader
    M(NB, SL, "begin = ready[i - num_workers]", "begin = ready[i - 1]",
      "m05_simulate_loader", "simulate_loader: the workers take turns, one at a time"),
    M(NB, SL, "            start = max(ready[i], end)\n", "            start = ready[i]\n",
      "m05_simulate_loader", "simulate_loader: a step starts before the previous one is over"),
    M(NB, SL, "            start = end + produce_times[i]\n", "            start = max(end, sum(produce_times[:i + 1]))\n",
      "m05_simulate_loader", "simulate_loader: without workers, making and consuming overlap"),
    M(NB, SL, "            if window >= 0:\n                begin = max(begin, starts[window])\n", "",
      "m05_simulate_loader", "simulate_loader: no limit on batches made ahead", hidden_only=True),
    M(NB, SL, "window = i - num_workers * prefetch_factor", "window = i - num_workers * prefetch_factor - 1",
      "m05_simulate_loader", "simulate_loader: one batch too many made ahead", hidden_only=True),
]

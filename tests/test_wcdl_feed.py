"""wcdl.feed: the producer notebook 05.4 runs in DataLoader workers, and its stand-in consumer."""

import pickle

import pytest
import torch

from wcdl import feed, impala
from wcdl.models import load_tokenizer

TEXTS = ["Matrix multiplication is all you need.", "Free entry!", "ok", "See you at 5", "Call me"]


def test_batches_are_tokenised_texts_with_cls_and_sep():
    ds = feed.TokenizedBatches(TEXTS, batch_size=2)
    tok = load_tokenizer()
    assert len(ds) == 3
    assert ds[0] == tok(TEXTS[:2])["input_ids"]
    assert ds[2] == tok(TEXTS[4:])["input_ids"]
    assert all(ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id for ids in ds[1])
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(ValueError, match="batch_size"):
        feed.TokenizedBatches(TEXTS, 0)


def test_pickled_data_set_leaves_its_tokenizer_behind():
    ds = feed.TokenizedBatches(TEXTS, batch_size=2)
    ds[0]
    assert ds._tokenizer is not None
    copy = pickle.loads(pickle.dumps(ds))
    assert copy._tokenizer is None
    assert copy[1] == ds[1]


def test_workers_started_by_forkserver_produce_every_batch_once():
    ds = feed.TokenizedBatches(TEXTS * 4, batch_size=3)
    loader = torch.utils.data.DataLoader(ds, batch_size=None, num_workers=2, collate_fn=feed.keep_as_is,
                                         multiprocessing_context=impala.mp_context())
    assert list(loader) == [ds[i] for i in range(len(ds))]


def test_consume_times_the_waits_and_counts_the_steps():
    seen = []
    run = feed.consume([1, 2, 3], seen.append)
    assert seen == [1, 2, 3] and run.batches == 3 and len(run.waits) == 3
    assert 0 <= sum(run.waits) <= run.seconds
    slow = feed.consume(range(2), feed.accelerator_step(0.05))
    assert slow.seconds >= 0.1 and slow.busy_fraction > 0.5
    empty = feed.consume([], seen.append)
    assert empty.batches == 0 and empty.batches_per_second == 0.0 and empty.waits == []

"""Unit tests of wcdl.data: cache hits, checksums, downloads, offline errors.

The network is never touched: `wcdl.data._download` is replaced in every
test, and the user cache is a temporary folder.
"""

from __future__ import annotations

import hashlib
import io
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest

from wcdl import data

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

COLLECTION = "ham\tOk lar... Joking wif u oni...\nspam\tFree entry in 2 a wkly comp! Txt WIN to 87121\n" \
             "ham\tOk lar... Joking wif u oni...\n"
README = ("SMS Spam Collection v.1\r\n-------------------------\r\n\r\n"
          "2. USAGE\r\n--------\r\n\r\nWe offer a study.\r\n\r\n"
          "[1] Almeida, T.A., G\xf3mez Hidalgo, J.M., Yamakami, A. Contributions to the study\r\n"
          "of SMS Spam Filtering. DOCENG'11, 2011.\r\n\r\n"
          "3. ABOUT\r\n--------\r\n\r\nCollected by Tiago.\r\n\r\n"
          "4. LICENSE/DISCLAIMER\r\n---------------------\r\n\r\n"
          "web page: http://www.dt.fee.unicamp.br/~tiago/smsspamcollection/\r\n"
          "2. No Warranty/Use At Your Risk. THE CORPUS IS PROVIDED AS IS.\r\n")
FILES = {"SMSSpamCollection": COLLECTION.encode("utf-8"), "readme": README.encode("latin-1")}


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test may reach the network, read the real user cache or see CI's WCDL_DATA_DIR."""
    def no_network(url, dest, timeout=60.0):
        raise urllib.error.URLError("network disabled in tests")
    monkeypatch.setattr(data, "_download", no_network)
    monkeypatch.delenv("WCDL_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def tiny(monkeypatch):
    """Pin the hashes of a three-line stand-in for the corpus."""
    monkeypatch.setattr(data, "SMS_SPAM_SHA256", {k: _sha(v) for k, v in FILES.items()})
    return FILES


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    (folder / "sms_spam").mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / "sms_spam" / name).write_bytes(content)
    return folder


def _zip(files: dict[str, bytes], prefix: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            zf.writestr(prefix + name, content)
    return buf.getvalue()


def test_default_cache_dir_follows_xdg(tmp_path):
    assert data.default_cache_dir() == tmp_path / "xdg" / "wcdl"


def test_cache_hit_from_wcdl_data_dir(tiny, tmp_path, monkeypatch):
    root = _write(tmp_path / "shared", tiny)
    monkeypatch.setenv("WCDL_DATA_DIR", str(root))
    ds = data.load_sms_spam()
    assert ds.texts[1].startswith("Free entry") and ds.texts[0] == ds.texts[2]
    assert ds.labels.dtype == np.int64 and ds.labels.tolist() == [0, 1, 0]
    assert ds.source == root / "sms_spam" and len(ds) == 3
    assert "Almeida" in ds.citation and "Gómez" in ds.citation and "DOCENG'11" in ds.citation
    assert "smsspamcollection" in ds.citation
    assert "No Warranty" in ds.terms and "Collected by" not in ds.terms
    assert "3 messages, 1 spam" in repr(ds)


def test_cache_hit_from_user_cache_and_argument(tiny, tmp_path):
    _write(tmp_path / "xdg" / "wcdl", tiny)
    assert len(data.load_sms_spam()) == 3
    other = _write(tmp_path / "elsewhere", tiny)
    assert data.load_sms_spam(other).source == other / "sms_spam"


def test_bad_hash_is_a_clear_error(tiny, tmp_path, monkeypatch):
    root = _write(tmp_path / "shared", {**tiny, "SMSSpamCollection": COLLECTION.encode()[:-10]})
    monkeypatch.setenv("WCDL_DATA_DIR", str(root))
    with pytest.raises(data.ChecksumError) as info:
        data.load_sms_spam()
    msg = str(info.value)
    assert "SMSSpamCollection" in msg and data.SMS_SPAM_SHA256["SMSSpamCollection"] in msg
    assert "corrupt" in msg and "official archive" in msg


def test_bad_hash_in_user_cache_says_delete_and_retry(tiny, tmp_path):
    _write(tmp_path / "xdg" / "wcdl", {**tiny, "readme": b"tampered"})
    with pytest.raises(data.ChecksumError, match="Delete the folder"):
        data.load_sms_spam()


def test_missing_cache_and_no_network_says_what_to_do(tiny):
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_sms_spam()
    msg = str(info.value)
    assert "network disabled" in msg and data.SMS_SPAM_URL in msg
    assert "WCDL_DATA_DIR" in msg and "connect to the internet" in msg


def test_wcdl_data_dir_without_files_is_named_in_the_error(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("WCDL_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(data.DataUnavailableError, match="does not exist"):
        data.load_sms_spam()


def test_download_false_never_downloads(tiny, monkeypatch):
    monkeypatch.setattr(data, "_download", lambda *a, **k: pytest.fail("downloaded"))
    with pytest.raises(data.DataUnavailableError, match="download=False"):
        data.load_sms_spam(download=False)


def test_download_is_verified_cached_and_used_once(tiny, tmp_path, monkeypatch):
    calls = []

    def fake(url, dest, timeout=60.0):
        calls.append(url)
        Path(dest).write_bytes(_zip(tiny, prefix="smsspamcollection/"))
    monkeypatch.setattr(data, "_download", fake)
    ds = data.load_sms_spam()
    assert calls == [data.SMS_SPAM_URL] and len(ds) == 3
    cached = tmp_path / "xdg" / "wcdl" / "sms_spam"
    assert ds.source == cached and (cached / "SHA256SUMS").read_text().count("  ") == 2
    assert not [p for p in cached.parent.iterdir() if p.name.startswith(".download")]
    assert len(data.load_sms_spam()) == 3 and len(calls) == 1     # second call: a cache hit


def test_download_with_wrong_hash_is_discarded(tiny, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_download", lambda url, dest, timeout=60.0: Path(dest).write_bytes(
        _zip({**tiny, "SMSSpamCollection": b"spam\tnot the real corpus\n"})))
    with pytest.raises(data.ChecksumError, match="download was discarded"):
        data.load_sms_spam()
    assert not (tmp_path / "xdg" / "wcdl" / "sms_spam").exists()


def test_download_that_is_not_a_zip(tiny, monkeypatch):
    monkeypatch.setattr(data, "_download", lambda url, dest, timeout=60.0: Path(dest).write_bytes(b"<html>"))
    with pytest.raises(data.ChecksumError, match="not a zip"):
        data.load_sms_spam()


def test_malformed_line_is_reported(tmp_path, monkeypatch):
    files = {"SMSSpamCollection": b"ham\tfine\nmaybe spam\n", "readme": FILES["readme"]}
    monkeypatch.setattr(data, "SMS_SPAM_SHA256", {k: _sha(v) for k, v in files.items()})
    with pytest.raises(data.DataError, match="line 2"):
        data.load_sms_spam(_write(tmp_path, files))


def test_pinned_hashes_match_the_shared_copy():
    sums = SHARED / "sms_spam" / "SHA256SUMS"
    if not sums.exists():
        pytest.skip("no shared copy of the data here")
    listed = dict(reversed(line.split()) for line in sums.read_text().splitlines() if line.strip())
    assert listed == data.SMS_SPAM_SHA256


def test_real_corpus_loads_when_available():
    if not (SHARED / "sms_spam" / "SMSSpamCollection").exists():
        pytest.skip("no copy of the SMS Spam Collection here")
    ds = data.load_sms_spam(SHARED)
    assert len(ds) == data.SMS_SPAM_SIZE == 5574 and int(ds.labels.sum()) == 747
    assert ds.citation.startswith("[1] Almeida") and "No Warranty" in ds.terms


def test_offline_advice_works_in_the_lab_the_check_and_grading(tiny, tmp_path):
    """The advice: copy the files into the cache folder, or export WCDL_DATA_DIR in the shell;
    never set it inside a notebook (a graded notebook may not change its environment)."""
    with pytest.raises(data.DataUnavailableError) as info:
        data.load_sms_spam()
    msg = str(info.value)
    cache = tmp_path / "xdg" / "wcdl" / "sms_spam"
    assert f"into {cache}/" in msg and "SMSSpamCollection and readme" in msg
    assert "WCDL_DATA_DIR=<dir> make lab" in msg and "Do not set it inside a notebook" in msg
    assert "os.environ[" not in msg
    # following the first piece of advice works
    _write(tmp_path / "xdg" / "wcdl", tiny)
    assert len(data.load_sms_spam()) == 3


def test_data_folders_are_what_the_loader_reads(tmp_path, monkeypatch):
    assert data.data_folders() == [tmp_path / "xdg" / "wcdl" / "sms_spam"]
    monkeypatch.setenv("WCDL_DATA_DIR", str(tmp_path / "d"))
    assert data.data_folders() == [tmp_path / "d" / "sms_spam", tmp_path / "xdg" / "wcdl" / "sms_spam"]


@pytest.fixture
def ipython(capsys):
    """A real IPython shell with the course's error display installed, as in a notebook."""
    shell_mod = pytest.importorskip("IPython.core.interactiveshell")
    from wcdl import checks

    shell = shell_mod.InteractiveShell.instance()
    checks._install_ipython_handler()
    try:
        yield shell
    finally:
        shell_mod.InteractiveShell.clear_instance()


def _run(shell, capsys, code: str) -> str:
    capsys.readouterr()
    shell.run_cell(code)
    captured = capsys.readouterr()
    return data_text(captured.out + captured.err)


def data_text(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_missing_data_in_a_notebook_shows_the_message_alone(tiny, ipython, capsys):
    out = _run(ipython, capsys, "from wcdl.data import load_sms_spam\nload_sms_spam()")
    assert "DataUnavailableError: the SMS Spam Collection is not cached" in out
    assert "To fix it" in out
    # not the chained traceback (URLError, "During handling of the above exception ...")
    assert "Traceback" not in out and "During handling" not in out and "File \"" not in out
    assert out.count("DataUnavailableError") == 1


def test_a_name_used_before_its_cell_ran_gets_the_hint(ipython, capsys):
    from wcdl.checks import NAME_HINT

    out = _run(ipython, capsys, "layer_norm(1, 2, 3)")
    assert "NameError" in out and "layer_norm" in out
    assert NAME_HINT in out and "run the answer cell above, and the imports at the top, first" in out


def _fake_corpus(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.2).astype(np.int64)
    texts = [f"message {i % 250}" for i in range(n)]  # messages 250.. repeat earlier ones
    return data.SmsSpam(texts=texts, labels=labels, citation="", terms="", source=Path("."))


def test_sms_split_drops_duplicates_and_is_the_04_2_split():
    from sklearn.model_selection import train_test_split

    corpus = _fake_corpus()
    split = data.sms_split(corpus, subsample=150, test_size=0.4, seed=0)
    assert split.n_distinct == len(set(corpus.texts))
    assert not set(split.train_texts) & set(split.test_texts)
    assert len(split.train_texts) + len(split.test_texts) == 150 and len(split.test_texts) == 60
    # the procedure notebook 04.2 writes out inline, step by step
    first = {}
    for i, t in enumerate(corpus.texts):
        first.setdefault(t, i)
    keep = np.array(sorted(first.values()))
    texts, labels = [corpus.texts[i] for i in keep], corpus.labels[keep]
    sub, _ = train_test_split(np.arange(len(texts)), train_size=150, stratify=labels, random_state=0)
    sub = np.sort(sub)
    texts, labels = [texts[i] for i in sub], labels[sub]
    tr, te = train_test_split(np.arange(len(texts)), test_size=0.4, stratify=labels, random_state=0)
    assert split.train_texts == [texts[i] for i in tr] and split.test_texts == [texts[i] for i in te]
    np.testing.assert_array_equal(split.y_train, labels[tr])
    np.testing.assert_array_equal(split.y_test, labels[te])
    for t, y in zip(split.test_texts, split.y_test):
        assert y == corpus.labels[corpus.texts.index(t)]


def test_sms_split_without_subsample_uses_every_distinct_message_and_depends_on_seed():
    corpus = _fake_corpus()
    full = data.sms_split(corpus)
    assert len(full.train_texts) + len(full.test_texts) == full.n_distinct == 250
    assert data.sms_split(corpus).test_texts == full.test_texts
    assert data.sms_split(corpus, seed=1).test_texts != full.test_texts
    assert "spam" in repr(full)

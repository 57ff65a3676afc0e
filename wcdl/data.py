"""Data sets of the course, offline-first and checksum-verified.

`load_sms_spam()` returns the SMS Spam Collection v.1 (Almeida and Gomez
Hidalgo, 2011): 5,574 text messages, each labelled ham or spam. It looks for
the files in this order:

1. `<WCDL_DATA_DIR>/sms_spam/SMSSpamCollection` (and `readme` beside it),
   when the environment variable `WCDL_DATA_DIR` is set (CI points it at a
   shared read-only copy);
2. the same layout under the user cache directory
   (`$XDG_CACHE_HOME/wcdl`, by default `~/.cache/wcdl`);
3. otherwise it downloads the official UCI archive into that cache.

Whatever the source, the sha256 of every file is checked against the hash
pinned below before a single line is parsed; a mismatch is an error, never a
warning. Offline and without a cache, the error says what to do.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SMS_SPAM_URL = "https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip"
SMS_SPAM_PAGE = "https://archive.ics.uci.edu/dataset/228/sms+spam+collection"
SMS_SPAM_DIR = "sms_spam"
# The files of the official archive and their sha256 (as in SHA256SUMS).
SMS_SPAM_SHA256 = {
    "SMSSpamCollection": "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d",
    "readme": "8753cd2d3cab68f80c8257851b8c2037778c267f55accb6fd1b5a2e32d36a84e",
}
SMS_SPAM_SIZE = 5574
LABEL_NAMES = ("ham", "spam")


class DataError(RuntimeError):
    """A data set could not be provided; the message says what to do."""


class ChecksumError(DataError):
    """A file's sha256 differs from the pinned one (corrupt, truncated or another version)."""


class DataUnavailableError(DataError):
    """No cached copy and the download failed (offline?)."""


@dataclass
class SmsSpam:
    """The SMS Spam Collection: `texts[i]` has label `labels[i]` (1 = spam, 0 = ham)."""

    texts: list[str]
    labels: np.ndarray
    citation: str
    terms: str
    source: Path
    readme: str = field(repr=False, default="")
    label_names: tuple[str, str] = LABEL_NAMES

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return (f"SmsSpam({len(self)} messages, {int(self.labels.sum())} spam, "
                f"from {self.source})")


# ---------------------------------------------------------------- locations

def default_cache_dir() -> Path:
    """Where downloads are kept: `$XDG_CACHE_HOME/wcdl`, else `~/.cache/wcdl`."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "wcdl"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verify(folder: Path, advice: str) -> None:
    """Raise ChecksumError unless every pinned file in `folder` has its pinned hash."""
    for name, expected in SMS_SPAM_SHA256.items():
        path = folder / name
        if not path.is_file():
            raise DataError(
                f"{path} is missing: the SMS Spam Collection needs both files of the official "
                f"archive ({', '.join(SMS_SPAM_SHA256)}) in {folder}.\n  {advice}")
        got = sha256_of(path)
        if got != expected:
            raise ChecksumError(
                f"{path} has sha256 {got},\n  but the SMS Spam Collection v.1 has {expected}.\n"
                f"  The file is corrupt, truncated or a different version, so it is not used.\n  {advice}")


def _write_sums(folder: Path) -> None:
    (folder / "SHA256SUMS").write_text("".join(f"{h}  {n}\n" for n, h in SMS_SPAM_SHA256.items()))


# ---------------------------------------------------------------- download

def _download(url: str, dest: Path, timeout: float = 60.0) -> None:
    """Fetch `url` into the file `dest` (tests replace this function)."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out)


def _fetch_into(cache: Path) -> Path:
    """Download the UCI archive, verify its files, install them under `cache/sms_spam`."""
    folder = cache / SMS_SPAM_DIR
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataUnavailableError(
            f"cannot create the cache directory {cache} ({e}).\n  {_what_to_do(cache)}") from e
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        archive = Path(tmp) / "sms_spam_collection.zip"
        try:
            _download(SMS_SPAM_URL, archive)
        except (urllib.error.URLError, OSError, TimeoutError) as e:
            raise DataUnavailableError(
                f"the SMS Spam Collection is not cached and downloading it failed:\n"
                f"  {SMS_SPAM_URL}\n  -> {e}\n  {_what_to_do(cache)}") from e
        staged = Path(tmp) / SMS_SPAM_DIR
        staged.mkdir()
        try:
            with zipfile.ZipFile(archive) as zf:
                members = {Path(n).name: n for n in zf.namelist() if not n.endswith("/")}
                for name in SMS_SPAM_SHA256:
                    if name not in members:
                        raise ChecksumError(
                            f"the downloaded archive has no file named {name!r} "
                            f"(it holds {sorted(members)}); the UCI archive may have changed.\n"
                            f"  {_what_to_do(cache)}")
                    (staged / name).write_bytes(zf.read(members[name]))
        except zipfile.BadZipFile as e:
            raise ChecksumError(
                f"the download from {SMS_SPAM_URL} is not a zip archive ({e}); "
                f"a proxy or captive portal may have answered instead.\n  {_what_to_do(cache)}") from e
        _verify(staged, f"The download was discarded. {_what_to_do(cache)}")
        _write_sums(staged)
        if folder.exists():
            shutil.rmtree(folder)
        shutil.move(str(staged), str(folder))
    return folder


def _what_to_do(cache: Path) -> str:
    folder = cache / SMS_SPAM_DIR
    return (
        "To fix it, either\n"
        f"   - connect to the internet and run again (the archive is downloaded once into {folder}), or\n"
        f"   - on a machine that is online, download {SMS_SPAM_URL}, unzip it, and copy its two files "
        f"SMSSpamCollection and readme into {folder}/ (works in JupyterLab, `wcdl check` and grading alike), or\n"
        "   - put them in <dir>/sms_spam/ and start JupyterLab (or `wcdl check`) with WCDL_DATA_DIR=<dir> "
        "exported in the shell, e.g. `WCDL_DATA_DIR=<dir> make lab`. Do not set it inside a notebook: "
        "graded notebooks may not change their environment, and that cell would fail.")


def data_folders() -> list[Path]:
    """The folders the loaders read (WCDL_DATA_DIR's and the cache's data sets), for the grader to allow."""
    named = os.environ.get("WCDL_DATA_DIR")
    roots = ([Path(named).expanduser()] if named else []) + [default_cache_dir()]
    return [r / SMS_SPAM_DIR for r in roots]


# ---------------------------------------------------------------- parsing

def _parse_collection(path: Path) -> tuple[list[str], np.ndarray]:
    texts, labels = [], []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        label, sep, text = line.partition("\t")
        if not sep or label not in LABEL_NAMES:
            raise DataError(f"{path}, line {lineno}: expected 'ham<TAB>text' or 'spam<TAB>text', got {line[:60]!r}")
        texts.append(text)
        labels.append(LABEL_NAMES.index(label))
    return texts, np.asarray(labels, dtype=np.int64)


def _section(readme: str, title: str) -> str:
    """Body of the readme section whose heading line starts with `title`."""
    m = re.search(rf"^{re.escape(title)}[^\n]*\n-+\n(.*?)(?=^\d+\.\s+[A-Z][^\n]*\n-+\n|\Z)",
                  readme, flags=re.S | re.M)
    return m.group(1).strip() if m else ""


def citation_and_terms(readme: str) -> tuple[str, str]:
    """The paper to cite and the licence terms, cut out of the corpus readme."""
    readme = readme.replace("\r\n", "\n")
    ref = re.search(r"^\[1\].*?(?=\n\s*\n|\Z)", readme, flags=re.S | re.M)
    page = re.search(r"http://www\.dt\.fee\.unicamp\.br/~tiago/smsspamcollection/?", readme)
    citation = " ".join(ref.group(0).split()) if ref else ""
    if page:
        citation += f"\nWeb page: {page.group(0)}"
    citation += f"\nArchive: {SMS_SPAM_PAGE}"
    terms = _section(readme, "4. LICENSE/DISCLAIMER") or readme.strip()
    return citation.strip(), terms


# ---------------------------------------------------------------- the loader

def load_sms_spam(data_dir: str | os.PathLike | None = None, *, cache_dir: str | os.PathLike | None = None,
                  download: bool = True) -> SmsSpam:
    """Load the SMS Spam Collection v.1, checking its sha256.

    Args:
        data_dir: folder holding `sms_spam/SMSSpamCollection` and `sms_spam/readme`;
            default: the environment variable WCDL_DATA_DIR, if set.
        cache_dir: where a download is kept; default `default_cache_dir()`.
        download: fetch the official UCI archive when no copy is found.

    Returns:
        SmsSpam with `texts` (list of str), `labels` (int64 array, 1 = spam),
        `citation` and `terms` (from the corpus readme) and `source` (the folder read).

    Raises:
        ChecksumError: a file's sha256 is not the pinned one.
        DataUnavailableError: no copy found and the download failed; the
            message says how to fix it (connect, or set WCDL_DATA_DIR).
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    named = data_dir if data_dir is not None else os.environ.get("WCDL_DATA_DIR") or None
    searched = []
    if named is not None:
        folder = Path(named).expanduser() / SMS_SPAM_DIR
        searched.append(folder)
        if (folder / "SMSSpamCollection").exists():
            _verify(folder, f"Replace the files in {folder} with those of the official archive "
                            f"({SMS_SPAM_URL}), or unset WCDL_DATA_DIR to download a fresh copy.")
            return _load(folder)
    folder = cache / SMS_SPAM_DIR
    searched.append(folder)
    if (folder / "SMSSpamCollection").exists():
        _verify(folder, f"Delete the folder {folder} and run again to download a fresh copy.")
        return _load(folder)
    if not download:
        raise DataUnavailableError(
            "the SMS Spam Collection was not found in " + " or ".join(map(str, searched)) +
            " and download=False.\n  " + _what_to_do(cache))
    try:
        folder = _fetch_into(cache)
    except DataUnavailableError as e:
        if named is not None:
            raise DataUnavailableError(
                f"WCDL_DATA_DIR (or data_dir) is {named}, but {searched[0] / 'SMSSpamCollection'} "
                f"does not exist; {e}") from e.__cause__
        raise
    return _load(folder)


def _load(folder: Path) -> SmsSpam:
    texts, labels = _parse_collection(folder / "SMSSpamCollection")
    readme = (folder / "readme").read_bytes().decode("latin-1")
    citation, terms = citation_and_terms(readme)
    return SmsSpam(texts=texts, labels=labels, citation=citation, terms=terms,
                   source=folder, readme=readme)


@dataclass
class SmsSplit:
    """A train/test split of the SMS Spam Collection (texts and 0/1 labels)."""

    train_texts: list[str]
    test_texts: list[str]
    y_train: np.ndarray
    y_test: np.ndarray
    n_distinct: int

    def __repr__(self) -> str:
        return (f"SmsSplit(train {len(self.train_texts)} ({int(self.y_train.sum())} spam), "
                f"test {len(self.test_texts)} ({int(self.y_test.sum())} spam), "
                f"of {self.n_distinct} distinct messages)")


def sms_split(data: SmsSpam, subsample: int | None = None, test_size: float = 0.4, seed: int = 0) -> SmsSplit:
    """The split of notebook 04.2: duplicates out, then a stratified train/test split.

    Exact duplicates are dropped first (each text keeps its first occurrence), so no copy of a
    message sits on both sides. With `subsample`, a stratified subsample of that many distinct
    messages (in corpus order) is split instead. Both draws use `random_state=seed`, so notebooks
    that call this with the same arguments test on the same messages and can pair their predictions.
    """
    from sklearn.model_selection import train_test_split

    first: dict[str, int] = {}
    for i, t in enumerate(data.texts):
        first.setdefault(t, i)
    keep = np.array(sorted(first.values()))
    texts, labels = [data.texts[i] for i in keep], np.asarray(data.labels)[keep]
    n_distinct = len(texts)
    if subsample is not None and subsample < n_distinct:
        sub, _ = train_test_split(np.arange(n_distinct), train_size=subsample, stratify=labels, random_state=seed)
        sub = np.sort(sub)
        texts, labels = [texts[i] for i in sub], labels[sub]
    train_idx, test_idx = train_test_split(np.arange(len(texts)), test_size=test_size, stratify=labels,
                                           random_state=seed)
    return SmsSplit([texts[i] for i in train_idx], [texts[i] for i in test_idx],
                    labels[train_idx], labels[test_idx], n_distinct)


def _short_errors_in_notebooks() -> None:
    """In a notebook, a DataError shows as its message alone, not a chained traceback
    (wcdl.checks installs the handler; the download's own error is in the message)."""
    import sys

    if "IPython" in sys.modules:
        import wcdl.checks  # noqa: F401


_short_errors_in_notebooks()

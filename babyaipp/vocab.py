"""The frozen, versioned vocabulary and the tokenizer.

The vocabulary (``babyaipp/data/vocab_v1.txt``, one word a line) holds every word that BabyAI's
instruction grammar and babyaipp's description generator can write, plus ``<pad>`` (id 0) and
``<unk>`` (id 1). It never changes within a version: a model trained on it keeps its meaning,
and checkpoints record :data:`VOCAB_HASH` to refuse a mismatch. Words outside it (for example
the name of a property a user registered) tokenize to ``<unk>``.

Tokenizing follows BabyAI: lower-case the text and keep the runs of ``[a-z]``.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import re

import numpy as np

VOCAB_VERSION = "v1"
PAD, UNK = 0, 1
MAX_INSTRUCTION_TOKENS = 48
MAX_SENTENCES = 6
SENTENCE_TOKENS = 4

_raw = importlib.resources.files("babyaipp").joinpath(f"data/vocab_{VOCAB_VERSION}.txt").read_text()
WORDS: tuple[str, ...] = tuple(_raw.split())
WORD_TO_ID: dict[str, int] = {w: i for i, w in enumerate(WORDS)}
VOCAB_HASH: str = hashlib.sha256("\n".join(WORDS).encode()).hexdigest()[:16]
"""A short stable hash of the word list; stored with checkpoints and results."""
VOCAB_SIZE = len(WORDS)

_WORD_RE = re.compile(r"[a-z]+")


def words_of(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def encode(text: str) -> list[int]:
    """Token ids of ``text`` (unknown words become ``UNK``)."""
    return [WORD_TO_ID.get(w, UNK) for w in words_of(text)]


def decode(ids) -> str:
    """Words of ``ids`` joined by spaces, padding dropped."""
    return " ".join(WORDS[int(i)] for i in ids if int(i) != PAD)


def encode_padded(text: str, length: int = MAX_INSTRUCTION_TOKENS) -> np.ndarray:
    """``text`` as an int64 array of exactly ``length`` ids, right-padded with ``PAD``.

    Raises ValueError if the text has more than ``length`` words.
    """
    ids = encode(text)
    if len(ids) > length:
        raise ValueError(f"text has {len(ids)} tokens, more than the {length} allowed: {text!r}")
    out = np.zeros(length, dtype=np.int64)
    out[: len(ids)] = ids
    return out


def encode_sentences(
    sentences: list[str], max_sentences: int = MAX_SENTENCES, length: int = SENTENCE_TOKENS
) -> np.ndarray:
    """Sentences as an int64 array ``(max_sentences, length)``, one row each, ``PAD``-padded."""
    if len(sentences) > max_sentences:
        raise ValueError(f"{len(sentences)} sentences, more than the {max_sentences} allowed")
    out = np.zeros((max_sentences, length), dtype=np.int64)
    for row, text in enumerate(sentences):
        out[row] = encode_padded(text, length)
    return out

"""Checked import rows between the two phases of an import (see :mod:`mom.engines.records.transfer`).

Phase 1 adds chunks of checked rows, phase 2 reads them once, in order. They stay in memory as
they are while all running imports of the process hold less than a budget, and go to a temporary
file beyond it; the memory a chunk holds is counted from its rows (:func:`chunk_bytes`).
"""
from __future__ import annotations

import itertools
import operator
import pickle
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Iterator
from typing import IO, Any


class Spool:
    """Checked chunks between phase 1 (adds) and phase 2 (reads them once, in order).

    Chunks stay in memory as they are (no encoding: pickling Decimal and date values cost more than
    the write itself) while the chunks held by all running imports of this process stay under
    ``budget`` bytes (setting ``import_memory_bytes``); beyond it, chunks are pickled to a temporary
    file, so a large or hostile file costs disk, not memory. Phase 2 drops each chunk once read."""

    _lock = threading.Lock()
    _held = 0            # bytes held in memory by every spool of this process

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.chunks: deque[list[tuple[Any, ...]]] = deque()
        self.sizes: deque[int] = deque()
        self.file: IO[bytes] | None = None

    def add(self, entries: list[tuple[Any, ...]], size: int) -> None:
        """Keep a chunk of checked rows; ``size``: its memory (see :func:`chunk_bytes`)."""
        if not entries:
            return
        if self.file is None:
            with Spool._lock:
                if Spool._held + size <= self.budget:
                    Spool._held += size
                    self.chunks.append(entries)
                    self.sizes.append(size)
                    return
            self.file = tempfile.TemporaryFile()
        pickle.dump(entries, self.file, protocol=pickle.HIGHEST_PROTOCOL)

    @property
    def spilled(self) -> bool:
        """Whether some chunks went to the temporary file."""
        return self.file is not None

    def __iter__(self) -> Iterator[list[tuple[Any, ...]]]:
        while self.chunks:
            yield self.chunks.popleft()
            self._release(self.sizes.popleft())   # written: its memory is free again
        if self.file is not None:
            self.file.seek(0)
            while True:
                try:
                    entries = pickle.load(self.file)
                except EOFError:
                    return
                yield entries

    def _release(self, size: int) -> None:
        with Spool._lock:
            Spool._held -= size

    def close(self) -> None:
        self._release(sum(self.sizes))
        self.chunks.clear()
        self.sizes.clear()
        if self.file is not None:
            self.file.close()


_ROW_BYTES = 450        # per kept row: its entry and (values, child rows) tuples, the two dicts
_VALUE_BYTES = 72       # per value: the object itself (a str also counts its characters below)
_CHAR_BYTES = 4         # per character of the row's cells (the widest str storage)
_CONTAINERS = {list, dict, tuple, set}


def _deep_bytes(obj: Any) -> int:
    if type(obj) is dict:
        return sys.getsizeof(obj) + sum(_deep_bytes(v) for v in obj.values())
    if type(obj) in _CONTAINERS:
        return sys.getsizeof(obj) + sum(_deep_bytes(v) for v in obj)
    return sys.getsizeof(obj)


def chunk_bytes(docs: list[dict[str, Any]], entries: list[tuple[Any, ...]], upsert: bool = False) -> int:
    """An upper estimate of the memory a chunk of checked rows holds, in C-level passes (a per-value
    ``sys.getsizeof`` cost as much as the pickling it replaces): fixed costs per row and per value,
    plus the characters of the row's cells (rows of a hostile file may be long); ``upsert``: the
    entries keep their cells too."""
    cells = itertools.chain.from_iterable
    try:
        chars = sum(map(len, cells(map(dict.values, docs))))
    except TypeError:   # an .xlsx gives numbers and dates too
        chars = sum(len(v) for v in cells(map(dict.values, docs)) if type(v) is str)
    kept = [e[1] for e in entries if e[1] is not None]
    values = sum(map(len, map(operator.itemgetter(0), kept)))
    if upsert:
        values += sum(map(len, docs))
        chars *= 2
    children = sum(_deep_bytes(p[1]) for p in kept if p[1])
    return _ROW_BYTES * len(entries) + _VALUE_BYTES * values + _CHAR_BYTES * chars + children

"""Raw MovieLens ids <-> dense row indices."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class Vocabulary:
    """Maps raw integer ids (MovieLens userId or movieId) to rows 0..n-1 and back.

    Ids are kept sorted, so the same set of ids always gives the same rows.
    Unknown ids map to -1.
    """

    def __init__(self, ids: Iterable[int]):
        self.ids = np.unique(np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64))
        self._index = {int(raw): row for row, raw in enumerate(self.ids)}

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, raw_id: int) -> bool:
        return int(raw_id) in self._index

    def index(self, raw_id: int) -> int:
        """Row of one id, -1 when unknown."""
        return self._index.get(int(raw_id), -1)

    def indices(self, raw_ids: Iterable[int]) -> np.ndarray:
        """Rows of many ids (vectorised), -1 for unknown ones."""
        raw = np.asarray(raw_ids if isinstance(raw_ids, np.ndarray) else list(raw_ids), dtype=np.int64)
        if raw.size == 0 or self.ids.size == 0:
            return np.full(raw.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, raw)
        pos_clipped = np.minimum(pos, len(self.ids) - 1)
        return np.where(self.ids[pos_clipped] == raw, pos_clipped, -1)

    def raw(self, rows: Iterable[int] | np.ndarray) -> np.ndarray:
        return self.ids[np.asarray(rows, dtype=np.int64)]

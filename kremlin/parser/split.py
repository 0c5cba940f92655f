"""The fixed train/validation split of the labelled corpus (one home for the rule).

A page belongs to the validation split when the sha256 of its kremlin_id (decimal text)
falls in the first fifth of the hash space: about 20 % of the pages, independent of the
file order, the text style and the corpus size, and the same on every machine.
"""

from __future__ import annotations

import hashlib

VALIDATION_SHARE = 5  # one page in this many is held out


def is_validation(kremlin_id: int) -> bool:
    digest = hashlib.sha256(str(kremlin_id).encode("ascii")).digest()
    return int.from_bytes(digest[:4], "big") % VALIDATION_SHARE == 0


def split_of(kremlin_id: int) -> str:
    return "validation" if is_validation(kremlin_id) else "train"

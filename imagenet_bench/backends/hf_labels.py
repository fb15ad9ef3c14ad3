"""A checkpoint's ``config.id2label`` mapped onto the ImageNet-1k classes in the tool's order.

Standard library and the package's ImageNet metadata only. A label names class ``c`` when it is
its wnid, its full WordNet lemma line (``"tench, Tinca tinca"``, as the ImageNet ports on the Hub
write them) or, failing those, its first lemma when only one class has it. The mapping is
certain, and used, in these cases only:

* 1,000 labels, label ``i`` naming class ``i``: the identity;
* 1,000 labels that each name exactly one class, every class once: that permutation;
* 1,001 labels whose first names no class (a background class, TensorFlow-slim's order) and
  whose other 1,000 name the classes in order: output ``c + 1`` is class ``c``;
* any number of labels that are wnids (ImageNet-21k/22k heads written that way), the 1,000
  classes all among them: each class's column.

Anything else is refused with the reason (generic ``LABEL_n`` names, a 21k head named by words,
whose lemmas repeat, another label set).
"""
from __future__ import annotations

import functools
from typing import Dict, List, Optional, Sequence, Tuple

from imagenet_bench.data import imagenet_meta

NUM = imagenet_meta.NUM_CLASSES


@functools.lru_cache(maxsize=1)
def _names() -> Tuple[Dict[str, List[int]], Dict[str, List[int]], Dict[str, int]]:
    """(full lemma line -> classes, first lemma -> classes, wnid -> class), lower-case (two
    classes share the line "crane")."""
    wnid_index = imagenet_meta.wnid_to_index()
    full: Dict[str, List[int]] = {}
    first: Dict[str, List[int]] = {}
    for line in imagenet_meta.data_lines(imagenet_meta.LEMMA_FILE):
        wnid, _, text = line.partition("\t")
        c = wnid_index.get(wnid)
        if c is None:
            continue
        full.setdefault(text.strip().lower(), []).append(c)
        first.setdefault(text.split(",")[0].strip().lower(), []).append(c)
    return full, first, wnid_index


def candidates(label: str) -> List[int]:
    """The ImageNet-1k classes ``label`` names (empty: none; several: an ambiguous lemma)."""
    full, first, wnids = _names()
    text = str(label).strip()
    if text in wnids:
        return [wnids[text]]
    low = text.lower()
    if low in full:
        return list(full[low])
    return list(first.get(low.split(",")[0].strip(), []))


def labels_of(id2label) -> List[str]:
    """``id2label`` (keys int or str) as a list in output order; ValueError if keys have gaps."""
    items = sorted((int(k), str(v)) for k, v in dict(id2label).items())
    if [k for k, _ in items] != list(range(len(items))):
        raise ValueError("id2label's keys are not 0..n-1")
    return [v for _, v in items]


def _in_order(labels: Sequence[str]) -> bool:
    return len(labels) == NUM and all(c in candidates(lab) for c, lab in enumerate(labels))


def mapping(id2label) -> Tuple[Optional[List[int]], Optional[str]]:
    """(index, None): column ``index[c]`` of the model's output is class ``c``; or (None, reason)."""
    if not id2label:
        return None, "its config has no id2label: the classes of its head are unknown"
    try:
        labels = labels_of(id2label)
    except (TypeError, ValueError) as e:
        return None, f"its config.id2label cannot be read ({e})"
    n = len(labels)
    if all(lab.upper().startswith("LABEL_") for lab in labels):
        return None, (f"its config.id2label names no classes (LABEL_0..LABEL_{n - 1}): whether its "
                      f"{n} outputs are the ImageNet-1k classes cannot be checked")
    if _in_order(labels):
        return list(range(NUM)), None
    if n == NUM + 1 and not candidates(labels[0]) and _in_order(labels[1:]):
        return [c + 1 for c in range(NUM)], None
    _, _, wnids = _names()
    if n == NUM:
        cands = [candidates(lab) for lab in labels]
        if all(len(c) == 1 for c in cands) and sorted(c[0] for c in cands) == list(range(NUM)):
            index = [0] * NUM
            for col, c in enumerate(cands):
                index[c[0]] = col
            return index, None
    if all(lab in wnids or lab.startswith("n") and lab[1:].isdigit() for lab in labels):
        cols = {lab: i for i, lab in enumerate(labels)}
        missing = [w for w in imagenet_meta.wnids() if w not in cols]
        if not missing:
            return [cols[w] for w in imagenet_meta.wnids()], None
        return None, (f"its {n} wnid labels lack {len(missing)} ImageNet-1k classes "
                      f"(e.g. {missing[0]})")
    bad = next((f"label {i} {lab!r}" for i, lab in enumerate(labels[:NUM]) if not candidates(lab)), None)
    kind = ("ImageNet-21k-sized" if n > 20000 else f"{n}-class")
    return None, (f"its {kind} head's labels are not the ImageNet-1k classes in a certain order "
                  f"({bad or 'names that several classes share'}; names are matched by wnid or "
                  f"WordNet lemma, and a word-named 21k head repeats lemmas)")

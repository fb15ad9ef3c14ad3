"""Top-1/top-5 accuracy under the A/R protocol, the image counts, the ranks (every result)."""
from __future__ import annotations

import numpy as np

from imagenet_bench.analysis import scorer
from imagenet_bench.analysis.metrics.base import Column, add_ranks, percent
from imagenet_bench.cache import store as cache
from imagenet_bench.data import datasets
from imagenet_bench.errors import InputError

#: the name that asks for this metric in ``Options.extra`` (None: other options decide)
EXTRA = None

COLUMNS = (
    Column("rank1", "rank@1", "", "rank by top-1 among the rows (1 = best; ties share a rank)"),
    Column("framework", "framework", "", "the model library"),
    Column("model", "model", "", "canonical model id (framework:arch.weights+settings)"),
    Column("acc1", "acc@1", "%", "top-1 accuracy over the scored images (A/R: under the protocol)"),
    Column("acc5", "acc@5", "%", "top-5 accuracy over the scored images (A/R: under the protocol)"),
    Column("rank5", "rank@5", "", "rank by top-5 among the rows"),
    Column("images", "images", "images", "images scored (after keep/omit)"),
    Column("missing", "unreadable", "images", "scored images the run could not read (never right)"),
    Column("dataset", "dataset", "", "dataset tag: test set, image count, fingerprint"),
    Column("test_set", "test set", "", "the test set's registry name"),
    Column("protocol", "A/R protocol", "", "ImageNet-A/-R: masked to the 200 classes or not"),
    Column("masked_acc1", "masked@1", "%", "A/R: top-1 within the set's 200 classes"),
    Column("masked_acc5", "masked@5", "%", "A/R: top-5 within the set's 200 classes"),
    Column("unmasked_acc1", "unmasked@1", "%", "A/R scored masked: the 1,000-class top-1 beside"),
)


def applies(options) -> bool:
    """Always: every result has its accuracy."""
    return True


def add(rows, preds, context) -> None:
    """acc1/acc5 (A/R under ``options.protocol``), counts, dataset, protocol columns, ranks."""
    protocol = context.options.protocol
    for row, p in zip(rows, preds):
        sel = context.rows(p)
        if (p.num_images if sel is None else sel.size) == 0:
            raise InputError(f"no images left to score for {p.qualname} after --keep/--omit. "
                             f"Fix: keep at least one image")
        top1, top5 = scorer.protocol_correct(p, protocol, rows=sel)
        missing = None if p.missing is None else p.missing if sel is None else p.missing[sel]
        name = datasets.name_of(p)
        row.update(framework=p.framework, model=p.qualname, acc1=percent(top1),
                   acc5=percent(top5), images=int(top1.size),
                   missing=0 if missing is None else int(np.count_nonzero(missing)),
                   dataset=cache.dataset_tag(p.num_images, p.fingerprint, name), test_set=name)
        if scorer.has_subset(p):  # ImageNet-A/R: acc1/acc5 follow the protocol, the other beside
            row["protocol"] = protocol
            if protocol == "masked":
                row["masked_acc1"], row["masked_acc5"] = row["acc1"], row["acc5"]
                row["unmasked_acc1"] = percent(scorer.correct(p, rows=sel)[0])
    add_ranks(rows, "acc1", "rank1")
    add_ranks(rows, "acc5", "rank5")

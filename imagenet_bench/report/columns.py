"""Column definitions of the tables that more than one command or module renders (stdlib only).

A table's columns live in ``report/``, beside the renderer (:mod:`report.tables`);
the analysis modules compute rows (dicts) and never import this package.
"""
from __future__ import annotations

from imagenet_bench.report.tables import Column

#: the ``score`` table: rank, model, accuracies, the published figure and its difference
SCORE = [
    Column("rank1", "rank@1"), Column("framework", "framework"),
    Column("model", "model"), Column("acc1", "acc@1"),
    Column("acc5", "acc@5"), Column("rank5", "rank@5"),
    Column("images", "images"), Column("published_acc1", "published@1"),
    Column("delta_acc1", "Δ@1", signed=True),
]
#: what ``score --labels FILE`` adds (accuracies against the custom labels)
CUSTOM_LABELS = [
    Column("custom_acc1", "custom acc@1"), Column("custom_acc5", "custom acc@5"),
    Column("custom_rank1", "custom rank@1"), Column("custom_rank5", "custom rank@5"),
]


def score(rows, mixed: bool = False, custom_labels: bool = False):
    """The ``score`` table's columns for ``rows``: :data:`SCORE`, plus the dataset (``mixed``),
    unmasked@1 (ImageNet-A/-R rows scored masked, :data:`analysis.scorer.PROTOCOLS`), unreadable images and :data:`CUSTOM_LABELS` where they apply."""
    columns = list(SCORE)
    if mixed:
        columns.append(Column("dataset", "dataset"))
    if any("unmasked_acc1" in r for r in rows):
        columns.insert(4, Column("unmasked_acc1", "unmasked@1"))
    columns += _protocol(rows)
    if any(r["missing"] for r in rows):
        columns.append(Column("missing", "unreadable"))
    if custom_labels:
        columns += CUSTOM_LABELS
    return columns


#: what ``score --published`` adds after ``delta_acc1`` (rows of analysis.published.compare_to_published)
PUBLISHED = [
    Column("published_acc5", "published@5"),
    Column("delta_acc5", "Δ@5", signed=True),
    Column("below_published", "flag"),
    Column("likely_reason", "likely reason"),
]

#: the paired table of ``verify variants`` (rows of analysis.variants), in the issue's order
VARIANTS = [
    Column("variant", "variant"),
    Column("status", "status"),
    Column("top1", "top1%"),
    Column("top5", "top5%"),
    Column("delta_top1", "dtop1", signed=True),
    Column("delta_low", "low", signed=True),
    Column("delta_high", "high", signed=True),
    Column("flips_to_wrong", "to_wrong"),
    Column("flips_to_right", "to_right"),
    Column("mcnemar_p", "mcnemar_p", fmt=".3g"),
    Column("top5_agreement", "top5_agree%"),
    Column("mean_abs_dprob", "mean_abs_dprob", fmt=".3g"),
    Column("max_abs_dprob", "max_abs_dprob", fmt=".3g"),
    Column("images_per_s", "img/s", decimals=1),
]


def robustness(table, fmt: str):
    """The ``robustness`` table's columns for an ``analysis.robustness.Table``: the CSV set of
    :func:`robustness.csv_keys` (csv, tsv); text, markdown and json add the differences. Headers
    are the sets' short names (``DatasetSpec.short``)."""
    from imagenet_bench.analysis import robustness  # numpy: imported by the command, not by --help
    from imagenet_bench.data import datasets
    short_of = {s.name: s.short or s.name for s in datasets.DATASETS.values()}
    keys = robustness.csv_keys(table)
    if fmt in ("csv", "tsv"):
        return [Column(k, k) for k in keys]
    cols = [Column("model", "model")]
    has_val = robustness.VAL in table.present
    for key in keys[1:]:
        short = short_of.get(key.replace("-unmasked", ""), key)
        if key.startswith("er_"):
            continue
        if key == "real":
            cols.append(Column("real", "ReaL"))
        elif key.endswith("-unmasked"):
            cols.append(Column(key, f"{short} unmasked"))
        elif key in robustness.MASKED:
            cols.append(Column(key, f"{short} {table.protocol}"))
        else:
            cols.append(Column(key, short))
        name = key.replace("-unmasked", "")
        if not has_val or name in (robustness.VAL, "real") or (
                name in robustness.MASKED and key == name):
            continue  # a masked set's differences follow its unmasked column
        cols.append(Column(f"delta_{name}", f"Δ{short}-val", signed=True))
        if name in robustness.MASKED:
            if fmt == "json":
                cols.append(Column(f"val200_{name}", f"val@{short}200"))
            cols.append(Column(f"delta_{name}_val200", f"Δ{short}-val200", signed=True))
    cols += [Column(k, f"ER {short_of.get(k[3:], k[3:])}", signed=True)
             for k in keys if k.startswith("er_")]
    return cols


#: ``robustness --corruptions summary``: one row per model (analysis.corruption.Table.summary)
CORRUPTION_SUMMARY = [
    Column("model", "model"), Column("protocol", "ImageNet-C protocol"),
    Column("clean_error", "clean err%"), Column("mce", "mCE"), Column("relative_mce", "rel mCE"),
    Column("mean_error", "mean err% (unnormalised)"), Column("sets", "sets"),
    Column("missing", "corruptions incomplete"),
]
#: ``robustness --corruptions grid``: corruption x severity error (%), CE and relative CE
CORRUPTION_GRID = ([Column("model", "model"), Column("corruption", "corruption")]
                   + [Column(f"s{s}", f"err% s{s}") for s in range(1, 6)]
                   + [Column("ce", "CE"), Column("relative_ce", "rel CE")])

PROTOCOL = Column("protocol", "A/R protocol")


def _protocol(rows):
    """The protocol column when a row carries one (an ImageNet-A/-R cache), else nothing."""
    return [PROTOCOL] if rows and any(r.get("protocol") for r in rows) else []


def compare(fmt: str, pct: str, ci: bool = False, rows=()):
    """The ``compare`` table's columns: the p-value as text everywhere (csv rounds numbers to 6 decimals),
    plus its log10 in csv, tsv and json, and the plain float in json; the A/R protocol when
    a row has one."""
    p_cols = [Column("p_text", "p (McNemar exact)")]
    if fmt in ("csv", "tsv", "json"):
        p_cols.append(Column("log10_p", "log10 p", decimals=2))
    if fmt == "json":
        p_cols.append(Column("p_value", "p"))
    acc = [Column("acc_a", "acc A"), Column("acc_b", "acc B")]
    if ci:
        acc = [Column("acc_a", "acc A"), Column("acc_a_low", f"acc A {pct} low"),
               Column("acc_a_high", f"acc A {pct} high"), Column("acc_b", "acc B"),
               Column("acc_b_low", f"acc B {pct} low"),
               Column("acc_b_high", f"acc B {pct} high")]
    return [
        Column("model_a", "model A"), Column("model_b", "model B"),
        Column("images", "images")] + acc + [
        Column("diff", "A-B", signed=True),
        Column("diff_low", f"A-B {pct} low", signed=True),
        Column("diff_high", f"A-B {pct} high", signed=True),
        Column("only_a", "only A right"), Column("only_b", "only B right"),
    ] + p_cols + _protocol(rows)


#: the ``errors`` table: images most models get wrong
HARD_EXAMPLES = [
    Column("image", "image"), Column("label", "label"),
    Column("models_wrong", "models wrong"), Column("models", "models"),
    Column("models_agreeing", "agree on one class"),
    Column("predicted_instead", "predicted instead (top-1, count)"),
]


def hard_examples(with_real: bool = False, rows=()):
    """The ``errors`` table's columns (:data:`HARD_EXAMPLES`, plus the ReaL labels and the
    A/R protocol where they apply)."""
    return (HARD_EXAMPLES + ([Column("real_labels", "ReaL labels")] if with_real else [])
            + _protocol(rows))


def per_class(ci_pct=None, rows=()):
    """The ``per-class`` table's columns; with ``ci_pct`` ("95%") the interval's bounds; the
    A/R protocol when a row has one."""
    columns = [Column("model", "model"), Column("class", "class"), Column("wnid", "wnid"),
               Column("name", "name"), Column("images", "images"), Column("correct", "correct"),
               Column("top1", "top-1")]
    if ci_pct:
        columns += [Column("top1_low", f"top-1 {ci_pct} low"), Column("top1_high", f"top-1 {ci_pct} high")]
    return columns + _protocol(rows)

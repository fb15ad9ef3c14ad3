"""Column definitions of the tables that more than one command or module renders (stdlib only).

A table's columns live in ``report/``, beside the renderer (:mod:`report.tables`);
the analysis modules compute rows (dicts) and never import this package.
"""
from __future__ import annotations

from imagenet_bench.report.tables import Column


def of(*keys: str):
    """The table columns of result keys, with the headers the metric registry declares
    (:func:`imagenet_bench.analysis.metrics.columns`)."""
    from imagenet_bench.analysis import metrics
    declared = [metrics.column(k) for k in keys]
    return [Column(c.key, c.header, decimals=c.decimals, signed=c.signed) for c in declared]


def interval(key: str, pct: str):
    """The two interval columns of result key ``key`` at confidence ``pct`` ("95%")."""
    header = of(key)[0].header
    return [Column(f"{key}_low", f"{header} {pct} low"), Column(f"{key}_high", f"{header} {pct} high")]


#: the ``score`` table: rank, model, accuracies, the published figure and its difference
SCORE = ("rank1", "framework", "model", "acc1", "acc5", "rank5", "images", "published_acc1",
         "delta_acc1")
#: what ``score --labels FILE`` adds (accuracies against the custom labels)
CUSTOM_LABELS = ("custom_acc1", "custom_acc5", "custom_rank1", "custom_rank5")

#: what ``score --calibration`` adds (the calibration metric's columns but its note, which
#: goes to standard error)
CALIBRATION = ("calibration_images", "ece15", "ties15", "ece100", "ties100", "nll", "brier",
               "temperature", "ece15_ts", "ece100_ts", "nll_ts", "brier_ts")


def compare_calibration(pct: str):
    """What ``compare --calibration`` adds: each model's ECE and A-B with its bootstrap
    interval, for both binnings (analysis.calibration_rows.paired_row)."""
    cols = [Column("calibration_images", "cal. images")]
    for key, name in (("ece15", "ECE-15w"), ("ece100", "ECE-100m")):
        cols += [Column(f"{key}_a", f"{name} A", decimals=4), Column(f"{key}_b", f"{name} B", decimals=4),
                 Column(f"{key}_diff", f"{name} A-B", decimals=4, signed=True),
                 Column(f"{key}_diff_low", f"{name} A-B {pct} low", decimals=4, signed=True),
                 Column(f"{key}_diff_high", f"{name} A-B {pct} high", decimals=4, signed=True)]
    return cols


def score(rows, mixed: bool = False, custom_labels: bool = False):
    """The ``score`` table's columns for ``rows``: :data:`SCORE`, plus the dataset (``mixed``),
    unmasked@1 (ImageNet-A/-R rows scored masked, :data:`analysis.scorer.PROTOCOLS`), unreadable images and :data:`CUSTOM_LABELS` where they apply."""
    columns = of(*SCORE)
    if mixed:
        columns += of("dataset")
    if any("unmasked_acc1" in r for r in rows):
        columns[4:4] = of("unmasked_acc1")
    columns += _protocol(rows)
    if any(r["missing"] for r in rows):
        columns += of("missing")
    if custom_labels:
        columns += of(*CUSTOM_LABELS)
    return columns


#: what ``score --published`` adds after ``delta_acc1`` (rows of analysis.published.compare_to_published)
PUBLISHED = ("published_acc5", "delta_acc5", "below_published", "likely_reason")


def _insert_after(columns, key: str, new) -> None:
    at = next((i + 1 for i, c in enumerate(columns) if c.key == key), len(columns))
    columns[at:at] = list(new)


def score_table(rows, options, mixed: bool = False):
    """The ``score`` table's columns for result ``rows`` made under ``options``
    (:class:`analysis.metrics.Options`): :func:`score`, ReaL, the intervals (``ci``) and the
    comparison with the published figure (``published``)."""
    out = score(rows, mixed=mixed, custom_labels=options.custom_labels is not None)
    pct = f"{100 * options.confidence:g}%"
    real = options.labels == "real"
    if real:
        _insert_after(out, "acc5", of("real_acc1", "real_rank1", "real_images"))
    if options.ci:
        for key in ("acc1", "acc5", "real_acc1", "custom_acc1", "custom_acc5"):
            if any(key in r for r in rows):
                _insert_after(out, key, interval(key, pct))
    if options.published:
        _insert_after(out, "delta_acc1", of(*PUBLISHED))
        if real:
            _insert_after(out, "real_images", of("published_real_acc1", "delta_real_acc1"))
    if "calibration" in options.extra:
        out += of(*CALIBRATION)
    return out

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
    return of("protocol") if rows and any(r.get("protocol") for r in rows) else []


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

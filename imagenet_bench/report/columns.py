"""The columns of the tables that more than one command or module renders (stdlib only).

The result tables' columns (``score``, ``compare``, ``robustness``: rows of
:mod:`imagenet_bench.analysis.results`) are declared once, by the metric registry
(:mod:`imagenet_bench.analysis.metrics`); here they are only read (:func:`of`,
:func:`declared`) and arranged per command and format. The other tables' columns
(``per-class``, ``errors``, ``verify variants``) are declared here, in :data:`TABLES`. The
analysis modules compute rows (dicts) and never import this package.
"""
from __future__ import annotations

from dataclasses import replace

from imagenet_bench.report.tables import Column

P, PTS, IMG = "%", "points", "images"


def _low_high(key: str, header: str, unit: str, what: str, signed: bool = False, decimals: int = 2):
    """The two bounds of ``key``'s interval (headers ``<header> {pct} low/high``)."""
    return tuple(Column(f"{key}_{end}", f"{header} {{pct}} {end}", decimals=decimals,
                        signed=signed, unit=unit, meaning=f"{'lower' if end == 'low' else 'upper'} bound of the {what} interval")
                 for end in ("low", "high"))


#: THE declarations of the columns of the tables that are not the results document's
#: (whose columns -- score's, compare's, robustness's -- the metric registry declares,
#: :func:`declared`): per table, key, header (``{pct}``: the confidence level), unit, meaning
TABLES = {
    "per-class": (
        Column("model", "model", meaning="canonical model id"),
        Column("class", "class", meaning="class index (0-999)"),
        Column("wnid", "wnid", meaning="the class's WordNet id"),
        Column("name", "name", meaning="the class's name"),
        Column("images", "images", unit=IMG, meaning="images of the class scored"),
        Column("correct", "correct", unit=IMG, meaning="of them, right at top-1"),
        Column("top1", "top-1", unit=P, meaning="top-1 accuracy on the class"),
        *_low_high("top1", "top-1", P, "Wilson"),
    ),
    "errors": (
        Column("image", "image", meaning="the image's id"),
        Column("label", "label", meaning="its label (class index and name)"),
        Column("models_wrong", "models wrong", meaning="models wrong at top-1 on it"),
        Column("models", "models", meaning="models scored on it"),
        Column("models_agreeing", "agree on one class",
               meaning="wrong models that predict the same class"),
        Column("predicted_instead", "predicted instead (top-1, count)",
               meaning="the wrong top-1 classes and how many models predict each"),
        Column("real_labels", "ReaL labels", meaning="the image's ReaL labels"),
    ),
    "verify variants": (
        Column("variant", "variant", meaning="how the same weights are run (fp32: the reference)"),
        Column("status", "status", meaning="ok, or skipped with the reason"),
        Column("top1", "top1%", unit=P, meaning="top-1 accuracy of the variant"),
        Column("top5", "top5%", unit=P, meaning="top-5 accuracy of the variant"),
        Column("delta_top1", "dtop1", signed=True, unit=PTS,
               meaning="variant's top-1 minus the reference's"),
        Column("delta_low", "low", signed=True, unit=PTS,
               meaning="lower bound of the Newcombe paired 95% interval of dtop1"),
        Column("delta_high", "high", signed=True, unit=PTS,
               meaning="upper bound of the Newcombe paired 95% interval of dtop1"),
        Column("flips_to_wrong", "to_wrong", unit=IMG, meaning="right in fp32, wrong here"),
        Column("flips_to_right", "to_right", unit=IMG, meaning="wrong in fp32, right here"),
        Column("mcnemar_p", "mcnemar_p", fmt=".3g", meaning="McNemar's exact p of the flips"),
        Column("top5_agreement", "top5_agree%", unit=P,
               meaning="images whose top-5 set equals the reference's"),
        Column("mean_abs_dprob", "mean_abs_dprob", fmt=".3g",
               meaning="mean |Δprob| on the reference's top-1 class"),
        Column("max_abs_dprob", "max_abs_dprob", fmt=".3g",
               meaning="largest |Δprob| on the reference's top-1 class"),
        Column("images_per_s", "img/s", decimals=1, unit="images/s", meaning="run speed"),
    ),
}

#: the tables whose columns the metric registry declares (analysis.metrics.TABLES)
FROM_METRICS = ("compare", "robustness")


def _column(c) -> Column:
    """The table column of a metric's declared column (analysis.metrics.base.Column)."""
    return Column(c.key, c.header, decimals=c.decimals, signed=c.signed, unit=c.unit,
                  meaning=c.meaning)


def declared(name: str):
    """The declared columns of table ``name``: those of :data:`TABLES`, or for
    :data:`FROM_METRICS` those the metric registry declares (the one declaration, read
    here; numpy is imported by the commands that compute the rows, not by ``--help``)."""
    if name in FROM_METRICS:
        from imagenet_bench.analysis import metrics
        return [_column(c) for c in metrics.columns(name).values()]
    return list(TABLES[name])


def table(name: str, *keys: str, **fill):
    """The declared columns ``keys`` of table ``name`` (:func:`declared`), the templates of key
    and header filled with ``fill`` (``pct``, ``set``, ``short``, ``protocol``)."""
    found = {c.key: c for c in declared(name)}
    return [replace(found[k], key=k.format(**fill), header=found[k].header.format(**fill))
            for k in keys]


def of(*keys: str):
    """The table columns of result keys, with the headers the metric registry declares
    (:func:`imagenet_bench.analysis.metrics.columns`)."""
    from imagenet_bench.analysis import metrics
    return [_column(metrics.column(k)) for k in keys]


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
    interval, for both binnings (analysis.metrics.paired_calibration)."""
    keys = [f"{key}_{end}" for key in ("ece15", "ece100")
            for end in ("a", "b", "diff", "diff_low", "diff_high")]
    return table("compare", "calibration_images", *keys, pct=pct)


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
VARIANTS = list(TABLES["verify variants"])


def robustness(found, fmt: str):
    """The ``robustness`` table's columns for an ``analysis.robustness.Table``: the CSV set of
    :func:`robustness.csv_keys` (csv, tsv); text, markdown and json add the differences. Headers
    are the sets' short names (``DatasetSpec.short``)."""
    from imagenet_bench.analysis import robustness  # numpy: imported by the command, not by --help
    from imagenet_bench.data import datasets
    short_of = {s.name: s.short or s.name for s in datasets.DATASETS.values()}
    keys = robustness.csv_keys(found)
    if fmt in ("csv", "tsv"):
        return [Column(k, k) for k in keys]
    cols = table("robustness", "model")
    has_val = robustness.VAL in found.present
    for key in keys[1:]:
        name = key.replace("-unmasked", "")
        fill = dict(set=name, masked_set=name, short=short_of.get(name, key),
                    protocol=found.protocol)
        if key.startswith("er_"):
            continue
        if key == "real":
            cols += table("robustness", "real")
        elif key.endswith("-unmasked"):
            cols += table("robustness", "{set}-unmasked", **fill)
        elif key in robustness.MASKED:
            cols += table("robustness", "{masked_set}", **fill)
        else:
            cols += table("robustness", "{set}", **fill)
        if not has_val or name in (robustness.VAL, "real") or (
                name in robustness.MASKED and key == name):
            continue  # a masked set's differences follow its unmasked column
        cols += table("robustness", "delta_{set}", **fill)
        if name in robustness.MASKED:
            if fmt == "json":
                cols += table("robustness", "val200_{set}", **fill)
            cols += table("robustness", "delta_{set}_val200", **fill)
    return cols + [c for k in keys if k.startswith("er_") for c in table(
        "robustness", "er_{set}", set=k[3:], short=short_of.get(k[3:], k[3:]))]


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
    p_keys = ["p_text"] + (["log10_p"] if fmt in ("csv", "tsv", "json") else []) + (
        ["p_value"] if fmt == "json" else [])
    acc = (["acc_a", "acc_a_low", "acc_a_high", "acc_b", "acc_b_low", "acc_b_high"] if ci
           else ["acc_a", "acc_b"])
    return table("compare", "model_a", "model_b", "images", *acc, "diff", "diff_low",
                 "diff_high", "only_a", "only_b", *p_keys, pct=pct) + _protocol(rows)


def hard_examples(with_real: bool = False, rows=()):
    """The ``errors`` table's columns (images most models get wrong), plus the ReaL labels and
    the A/R protocol where they apply."""
    keys = ("image", "label", "models_wrong", "models", "models_agreeing", "predicted_instead")
    return table("errors", *keys, *(["real_labels"] if with_real else [])) + _protocol(rows)


def per_class(ci_pct=None, rows=()):
    """The ``per-class`` table's columns; with ``ci_pct`` ("95%") the interval's bounds; the
    A/R protocol when a row has one."""
    keys = ("model", "class", "wnid", "name", "images", "correct", "top1")
    bounds = ("top1_low", "top1_high") if ci_pct else ()
    return table("per-class", *keys, *bounds, pct=ci_pct) + _protocol(rows)

"""Options and output handling shared by subcommands (stdlib only)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from imagenet_bench.cache import atomic, locations

#: exit status -> what it means; every command follows it (``--help`` epilog, docs/cli.md)
EXIT_CODES = {
    0: "success; a check found no difference",
    1: "a check found a difference (verify)",
    2: "usage or input error, the message ends with how to fix it; predict/sweep: a model or "
       "job failed",
    3: "internal error: a bug in imagenet-bench (rerun as imagenet-bench --debug COMMAND ... for "
       "the traceback)",
    4: "inconclusive: the outputs or the model could not show a difference, e.g. the uniform "
       "outputs of random weights (verify)",
    130: "interrupted (Ctrl-C); finished work is kept",
    143: "terminated (SIGTERM); finished work is kept",
}


def exit_codes_text(codes=tuple(EXIT_CODES)) -> str:
    """``codes`` of :data:`EXIT_CODES` as one line for a help text."""
    return "Exit status " + "; ".join(f"{c}: {EXIT_CODES[c]}" for c in codes) + "."


def deprecated(new: str, store=None):
    """An argparse action for an old spelling: prints one line on standard error naming ``new``,
    then stores as ``store(namespace, values)`` does (default: the value, or ``const`` for an
    option without one, under the action's dest). A positional left out is not reported."""

    class Deprecated(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            if option_string is None and not values:
                return
            old = option_string or " ".join(values)
            print(f"{parser.prog}: note: {old} is deprecated; use {new}", file=sys.stderr)
            if store is not None:
                store(namespace, values)
            else:
                setattr(namespace, self.dest, self.const if self.nargs == 0 else values)

    return Deprecated


def add_cache_dir_arg(parser: argparse.ArgumentParser, dest: str, help: str, default=None,
                      old=()) -> None:
    """Add ``--cache-dir DIR`` (where caches are written, the same spelling in every command),
    stored under ``dest``; ``old``: deprecated spellings that still work."""
    parser.add_argument("--cache-dir", dest=dest, metavar="DIR", default=default, help=help)
    if old:
        parser.add_argument(*old, dest=dest, metavar="DIR", default=argparse.SUPPRESS,
                            action=deprecated("--cache-dir"), help=argparse.SUPPRESS)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show an option's default once, and only when it says something."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


def library_names(described: bool = False) -> str:
    """The registered model libraries for help texts ("torch, keras, ..."; ``described``: each
    with its declared one-line description), never raising."""
    from imagenet_bench.errors import BenchError
    from imagenet_bench.models import libraries
    try:
        if described:
            return "; ".join(f"{lib.name}: {lib.description}" if lib.description else lib.name
                             for lib in libraries.libraries())
        return ", ".join(libraries.names())
    except BenchError as e:
        return f"none usable: {e}"


def framework_name(text: str) -> str:
    """argparse type of ``--framework``: a registered model library's name."""
    from imagenet_bench.errors import BenchError
    from imagenet_bench.models import libraries
    try:
        return libraries.get(text).name
    except BenchError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_framework_arg(parser: argparse.ArgumentParser, help: str, described: bool = False) -> None:
    """Add ``--framework NAME``: one of the registered model libraries (models.libraries);
    ``described``: the help lists each library's description (``models``)."""
    parser.add_argument("--framework", type=framework_name, metavar="NAME",
                        help=f"{help} ({library_names(described)})")


def add_output_args(parser: argparse.ArgumentParser, default_format: str = "text",
                    help_extra: str = "") -> None:
    """Add ``--format`` (the report-format registry's choices, the same in every command) and
    ``-o/--output``."""
    from imagenet_bench.report import formats
    listed = ", ".join(f"{f.name} ({f.help})" for f in formats.registered().values())
    parser.add_argument("--format", choices=formats.names(), default=default_format,
                        help=f"output format (default: {default_format}): {listed}{help_extra}")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the table to FILE (atomically) instead of standard output")


def add_test_set_arg(parser: argparse.ArgumentParser) -> None:
    """Add the test set: a positional ``[NAME=]DIR`` (NAME one of the dataset registry's, default
    imagenet-val), stored as ``val_dir`` and ``dataset``; ``--dataset NAME`` still works,
    deprecated."""
    from imagenet_bench.data import datasets, layouts
    sets = "; ".join(f"{s.name} ({layouts.layout_words(s)}"
                     f"{' or the flat official files' if layouts.FLAT_OFFICIAL in s.layouts else ''})"
                     for s in datasets.DATASETS.values() if not s.family)
    sets += ("; imagenet-c-<corruption>-<severity> (one severity folder of ImageNet-C, or the "
             "download's root; e.g. imagenet-c-gaussian_noise-3)")

    class TestSet(argparse.Action):
        def __call__(self, parser, namespace, values, option_string=None):
            name, sep, folder = values.partition("=")
            if sep and os.sep not in name and "/" not in name:  # NAME=DIR (an unknown NAME is
                namespace.dataset, values = name, folder  # refused, listing the names, when run)
            setattr(namespace, self.dest, values)

    parser.add_argument("val_dir", metavar="[NAME=]DIR", action=TestSet,
                        help=f"the test set: its folder, after NAME= unless it is "
                             f"{datasets.DEFAULT}. NAME: {sets}. See docs/datasets.md")
    parser.add_argument("--dataset", default=datasets.DEFAULT, metavar="NAME",
                        action=deprecated("NAME=DIR"), help=argparse.SUPPRESS)


def add_protocol_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--protocol masked|unmasked`` (``--unmasked``, deprecated): how ImageNet-A/-R caches are
    scored (:data:`analysis.scorer.PROTOCOLS`), the same in every command."""
    parser.add_argument("--protocol", choices=("masked", "unmasked"), default="masked",
                        help="ImageNet-A/-R caches: 'masked' scores the prediction restricted to "
                             "the set's 200 classes (the published protocol), 'unmasked' the "
                             "1,000-class prediction; other test sets are not affected")
    parser.add_argument("--unmasked", dest="protocol", nargs=0, const="unmasked",
                        action=deprecated("--protocol unmasked"), help=argparse.SUPPRESS)


def add_plot_arg(parser, help: str) -> None:
    """Add ``--plot FILE`` (a figure file, the same spelling in every command)."""
    parser.add_argument("--plot", metavar="FILE",
                        help=f"{help}. FILE's extension picks the format (.png, .pdf, .svg); "
                             f"needs matplotlib")


def render(table, fmt: str, output: Optional[str]) -> None:
    """Print (or write to ``output``) an API table (:class:`imagenet_bench.api.Results`) in the
    command's ``--format``; the table's notes go to standard error first."""
    for note in table.notes:
        print(note, file=sys.stderr)
    emit(table.render(fmt), output)


def emit(text: str, output: Optional[str]) -> None:
    """Print ``text``, or write it atomically to ``output`` and say where."""
    if output:
        atomic.write_text(output, text)
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def add_precomputed_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--precomputed DIR`` and ``--val-dir`` (labels and ids for 2019-layout outputs)."""
    parser.add_argument("--precomputed", metavar="DIR", default=locations.shipped_dir(),
                        help=f"folder of caches (your runs: {locations.RUNS_DIR}/) or of the 2019 "
                             f"outputs (default: the 34 shipped 2019 models, "
                             f"{locations.SHIPPED_RELPATH}/ of this checkout)")
    add_val_dir_arg(parser)
    add_loading_args(parser)


def add_loading_args(parser: argparse.ArgumentParser, verify: bool = False) -> None:
    """Add ``--no-index`` and ``--skip-bad`` (and ``--verify``) of the folder loading."""
    parser.add_argument("--no-index", dest="use_index", action="store_false",
                        help="read every cache file in full instead of the folder's index "
                             "(kept in $XDG_CACHE_HOME/imagenet_bench/, default ~/.cache)")
    parser.add_argument("--skip-bad", action="store_true",
                        help="leave out cache files that cannot be used (listed at the end) "
                             "instead of refusing them all in one error")
    if verify:
        parser.add_argument("--verify", action="store_true",
                            help="re-validate every cache file in full, whatever the index says, "
                                 "and refresh the index")


def loading(args) -> dict:
    """The keyword arguments of ``scorer.load_predictions`` from the loading options."""
    return {"use_index": args.use_index, "skip_bad": args.skip_bad,
            "verify": getattr(args, "verify", False)}


def report_skipped(preds) -> None:
    """List on stderr the bad cache files ``--skip-bad`` left out (never silently)."""
    skipped = preds.skipped
    if skipped:
        lines = "\n".join(f"  {message}" for _, message in skipped)
        print(f"skipped {len(skipped)} cache file{'s' if len(skipped) != 1 else ''} that cannot "
              f"be used (--skip-bad):\n{lines}", file=sys.stderr)


def add_val_dir_arg(parser: argparse.ArgumentParser) -> None:
    """Add ``--val-dir`` (labels and image ids for 2019-layout outputs)."""
    parser.add_argument("--val-dir", metavar="VAL_DIR",
                        help="for 2019-layout outputs: take image ids and labels from this "
                             "validation directory (class folders or the flat official files) "
                             "instead of assuming the full set in ImageFolder order (label i//50)")

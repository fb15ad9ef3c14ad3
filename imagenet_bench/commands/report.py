"""``imagenet-bench report``: one self-contained HTML page of any folders of caches.

The numbers come from :mod:`imagenet_bench.report.html_data` (the functions
``score``, ``compare`` and ``robustness`` use); the page from
:mod:`imagenet_bench.report.html` (Plotly, extra ``[report]``, imported here
only when the command runs).
"""
from __future__ import annotations

import shlex
import sys
import time

from imagenet_bench.cache import locations
from imagenet_bench.commands._common import HelpFormatter, add_protocol_arg


def add_parser(sub) -> None:
    """Register the ``report`` subcommand."""
    p = sub.add_parser(
        "report", help="write one self-contained HTML report (table + plots) of folders of caches",
        description="Read every cache under the --precomputed folders (searched recursively: "
                    "predict and sweep folders, the 2019 layout, any mix of test sets) and write "
                    "ONE HTML file that opens from file:// with no network: a sortable, "
                    "filterable table of every model x test set (top-1/top-5 with 95%% "
                    "intervals, published figure, difference, flag and likely reason, params, "
                    "GFLOPs, images/s, recipe) with CSV export; plots of measured vs published, "
                    "top-1 vs cost with Pareto fronts, effective robustness and the Keras-vs-"
                    "PyTorch pairs; the files that could not be scored and why. Needs plotly "
                    "(pip install 'imagenet_bench[report]').",
        formatter_class=HelpFormatter)
    p.add_argument("--precomputed", metavar="DIR", action="append",
                   help=f"folder of caches; repeat for several (default: the 34 shipped 2019 "
                        f"models, {locations.SHIPPED_RELPATH}/ of this checkout)")
    p.add_argument("--no-index", dest="use_index", action="store_false",
                   help="read every cache file in full instead of each folder's index")
    p.add_argument("--verify", action="store_true",
                   help="re-validate every cache file in full and refresh the index")
    add_protocol_arg(p)
    p.add_argument("--calibration", action="store_true",
                   help="add ECE, NLL, Brier and temperature columns and a reliability plot "
                        "(docs/analysis.md#calibration; reads each cache's probabilities: "
                        "seconds per hundred caches)")
    p.add_argument("-o", "--output", metavar="FILE.html", required=True,
                   help="the HTML file to write (atomically)")
    p.set_defaults(func=run)


def run(args) -> int:
    """Build the document, render the page and write it (:func:`imagenet_bench.api.report`)."""
    from imagenet_bench import api

    command = "imagenet-bench " + " ".join(shlex.quote(a) for a in args.argv)
    start = time.perf_counter()
    doc = api.report(args.output, args.precomputed or (), command=command,
                     use_index=args.use_index, verify=args.verify, protocol=args.protocol,
                     calibration=args.calibration)
    print(f"wrote {args.output} ({doc.size / 1e6:.1f} MB): {len(doc.rows)} model x test set rows, "
          f"{len(doc.skipped)} files not scored, in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    for s in doc.skipped:
        print(f"not scored: {s.path}: {s.reason}", file=sys.stderr)
    return 0

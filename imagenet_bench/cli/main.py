"""The ``imagenet-bench`` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in ``imagenet_bench/commands/<name>.py`` and exposes
``add_parser(subparsers)`` (which sets ``func`` to its ``run(args) -> int``).
Subcommand modules import their heavy dependencies inside ``run``.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from imagenet_bench import __version__
from imagenet_bench.commands import compare, demo, errors, import_2019, models, per_class, predict, prepare_val, score
from imagenet_bench.commands import report, robustness, sweep, verify
from imagenet_bench.commands._common import HelpFormatter

#: explicit list, in the order shown by --help
COMMANDS = [score, models, import_2019, compare, errors, per_class, robustness, report, predict,
            prepare_val, demo, verify, sweep]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (built fresh on every call)."""
    parser = argparse.ArgumentParser(
        prog="imagenet-bench",
        description="Reproduce and re-score the ImageNet accuracy of pretrained models.")
    parser.add_argument("--version", action="version", version=f"imagenet-bench {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of any error (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.add_parser(sub)
    for subparser in sub.choices.values():  # every option's help says its default
        subparser.formatter_class = HelpFormatter
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; return the exit status.

    0 ok; 1 a check failed (verify); 2 usage or input error; 3 internal error
    (a bug: the message says to rerun with ``--debug``); 130 Ctrl-C; 143 SIGTERM.
    Finished work is checkpointed before 130 and 143.
    """
    from imagenet_bench.errors import BenchError
    from imagenet_bench.run import signals

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # the command line, as typed
    debug = args.debug or os.environ.get("IMAGENET_BENCH_DEBUG", "") not in ("", "0")
    before = os.environ.get("IMAGENET_BENCH_DEBUG")
    if debug:  # spawned children (the Keras worker) show their frameworks' logs too
        os.environ["IMAGENET_BENCH_DEBUG"] = "1"
    try:
        with signals.terminate_as_interrupt():
            return int(args.func(args) or 0)
    except BenchError as e:
        if debug:
            raise
        print(f"imagenet-bench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable output, a folder where a file was expected
        if debug:
            raise
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        why = e.strerror or str(e)
        if isinstance(e, (FileExistsError, NotADirectoryError)) and "in the way" not in why:
            why = "a file is in the way where a folder is needed"
        print(f"imagenet-bench {args.command}: error: {where}{why}. Fix: check the path and its "
              f"permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        what = "terminated (SIGTERM)" if isinstance(e, signals.Terminated) else "interrupted"
        print(f"imagenet-bench {args.command}: {what}; finished work is kept", file=sys.stderr)
        return signals.EXIT_TERMINATED if isinstance(e, signals.Terminated) else signals.EXIT_INTERRUPTED
    except Exception as e:  # a bug, not bad input: say so, and how to see the traceback
        if debug:
            raise
        print(f"imagenet-bench {args.command}: internal error ({type(e).__name__}: {e}). This is a "
              f"bug in imagenet-bench, not in your input; rerun with --debug for the traceback "
              f"and report it", file=sys.stderr)
        return 3
    finally:
        if before is None:
            os.environ.pop("IMAGENET_BENCH_DEBUG", None)
        else:
            os.environ["IMAGENET_BENCH_DEBUG"] = before


if __name__ == "__main__":
    sys.exit(main())

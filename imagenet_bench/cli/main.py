"""The ``imagenet-bench`` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in ``imagenet_bench/commands/<name>.py`` and exposes
``add_parser(subparsers)`` (which sets ``func`` to its ``run(args) -> int``).
Subcommand modules import their heavy dependencies inside ``run``. A command
line that names its command builds (and imports) that command's parser only:
``score`` then loads none of the other commands' modules, options or
catalog look-ups; ``--help`` and anything else build them all.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import List, Optional

from imagenet_bench import __version__
from imagenet_bench.cli import once
from imagenet_bench.commands._common import EXIT_CODES, HelpFormatter

#: command name -> its module under imagenet_bench.commands, in the order shown by --help
COMMANDS = {"score": "score", "models": "models", "import": "import_2019", "compare": "compare",
            "errors": "errors", "per-class": "per_class", "robustness": "robustness",
            "report": "report", "predict": "predict", "prepare-val": "prepare_val",
            "demo": "demo", "verify": "verify", "sweep": "sweep"}


def _named_command(argv: List[str]) -> Optional[str]:
    """The command ``argv`` names (its first word that is not an option), if it is one."""
    for word in argv:
        if word in ("-h", "--help", "--version") or not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser (built fresh on every call): every command's, or with ``only``
    that command's alone (what parsing a command line that names it needs)."""
    parser = argparse.ArgumentParser(
        prog="imagenet-bench", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Reproduce and re-score the ImageNet accuracy of pretrained models.",
        epilog="exit status (every command; docs/cli.md):\n" + "\n".join(
            f"  {code:<4d}{meaning}" for code, meaning in EXIT_CODES.items()))
    parser.add_argument("--version", action="version", version=f"imagenet-bench {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of any error (for bug reports)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"imagenet_bench.commands.{module}").add_parser(sub)
    for subparser in sub.choices.values():  # every option's help says its default
        subparser.formatter_class = HelpFormatter
    once.refuse_repeats(parser)  # an option given twice is refused, not overridden
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; return the exit status.

    The statuses are :data:`imagenet_bench.commands._common.EXIT_CODES` (the ``--help``
    epilog prints them). Finished work is checkpointed before 130 and 143.
    """
    from imagenet_bench.errors import BenchError
    from imagenet_bench.run import signals

    typed = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_named_command(typed))
    args = parser.parse_args(typed)
    args.argv = typed  # the command line, as typed
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
              f"bug in imagenet-bench, not in your input; rerun as `imagenet-bench --debug "
              f"{args.command} ...` for the traceback and report it", file=sys.stderr)
        return 3
    finally:
        if before is None:
            os.environ.pop("IMAGENET_BENCH_DEBUG", None)
        else:
            os.environ["IMAGENET_BENCH_DEBUG"] = before


if __name__ == "__main__":
    sys.exit(main())

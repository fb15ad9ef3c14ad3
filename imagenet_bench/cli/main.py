"""The ``imagenet-bench`` command line: a thin dispatcher over subcommand modules.

Each subcommand lives in ``imagenet_bench/commands/<name>.py`` and exposes
``add_parser(subparsers)`` (which sets ``func`` to its ``run(args) -> int``).
Subcommand modules import their heavy dependencies inside ``run``.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from imagenet_bench import __version__
from imagenet_bench.commands import compare, demo, errors, import_2019, models, per_class, predict, prepare_val, score
from imagenet_bench.commands import verify
from imagenet_bench.commands._common import HelpFormatter

#: explicit list, in the order shown by --help
COMMANDS = [score, models, import_2019, compare, errors, per_class, predict, prepare_val, demo, verify]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (built fresh on every call)."""
    parser = argparse.ArgumentParser(
        prog="imagenet-bench",
        description="Reproduce and re-score the ImageNet accuracy of pretrained models.")
    parser.add_argument("--version", action="version", version=f"imagenet-bench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS:
        module.add_parser(sub)
    for subparser in sub.choices.values():  # every option's help says its default
        subparser.formatter_class = HelpFormatter
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Run the tool; return the exit status (0 ok, 2 usage or input error)."""
    from imagenet_bench.errors import BenchError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BenchError as e:
        print(f"imagenet-bench {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # unwritable output, a folder where a file was expected, a full disk
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        print(f"imagenet-bench {args.command}: error: {where}{e.strerror or e}. Fix: check the "
              f"path and its permissions", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished work is kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

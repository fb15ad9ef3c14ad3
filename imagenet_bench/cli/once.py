"""Options given twice or abbreviated: refused, never silently read (standard library only).

argparse keeps the last value of an option given twice (``score --precomputed A
--precomputed B`` scored B alone). :func:`refuse_repeats` turns every single-value
option of a parser and its subcommands into one that refuses a second value with a
usage error (exit 2) naming both values and the fix; options meant to repeat are
``action="append"`` and untouched. It also turns off argparse's prefix matching, which
read an option a command does not take as another one that starts the same way
(``sweep plan --checkpoint FILE`` as ``--checkpoint-every FILE``).
"""
from __future__ import annotations

import argparse

#: where a command that takes one value has a sibling that takes several
SEVERAL = {"--precomputed": "; `imagenet-bench report --precomputed A --precomputed B` reads "
                            "several folders into one page"}


class StoreOnce(argparse._StoreAction):
    """``store``, refusing a second occurrence in the same command line."""

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: D102
        seen = getattr(self, "_seen", None)
        if seen is not None and seen[0] is namespace:
            option = option_string or self.dest
            hint = SEVERAL.get(self.option_strings[-1] if self.option_strings else "", "")
            raise argparse.ArgumentError(
                self, f"given twice ({seen[1]} and {values}), and this command takes one value. "
                      f"Fix: give {option} once{hint}")
        self._seen = (namespace, values)
        super().__call__(parser, namespace, values, option_string)


def refuse_repeats(parser: argparse.ArgumentParser) -> None:
    """Make every single-value option of ``parser`` and its subparsers a :class:`StoreOnce`,
    and take every option by its whole name only."""
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in {id(p): p for p in action.choices.values()}.values():
                refuse_repeats(sub)
        elif type(action) is argparse._StoreAction and action.option_strings:
            action.__class__ = StoreOnce

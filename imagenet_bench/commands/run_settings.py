"""The run settings, declared once: the options that fill a :class:`~imagenet_bench.run.config.RunConfig`.

Each :class:`Setting` is one keyword of :func:`imagenet_bench.run.config.build` (which
turns them into the RunConfig's fields) with its option spelling, type, choices, help and
smallest accepted value. :func:`add` puts them on a parser (``predict``, every ``verify``
command, ``sweep plan``), so every command spells, defaults and explains a setting the same
way; a command that leaves one out, or defaults it otherwise, says why in :data:`DIFFERENCES`.
:func:`check_ranges` refuses a value below its bound, for every command alike;
:func:`build_options` reads the given values back as ``config.build`` keywords.
:data:`RUN_OPTIONS` does the same for the runner's options (``runner.RunOptions``).
Standard library only.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Optional, Tuple

from imagenet_bench.errors import InputError

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos")


def floats(text: str):
    """'0.5' or '0.485,0.456,0.406' -> list of floats (argparse type of ``--mean``/``--std``)."""
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 1 or 3 comma-separated numbers, got {text!r}") from None


@dataclass(frozen=True)
class Setting:
    """One option: its ``config.build`` keyword (``dest``), spelling and argparse details."""

    dest: str  # keyword of run.config.build, and the argparse dest
    flags: Tuple[str, ...]  # its spellings, the long one last
    help: str
    group: str  # "weights" | "recipe" | "resources" | "run" (the help section it is listed in)
    kwargs: Dict[str, Any] = field(default_factory=dict)  # type, choices, metavar, nargs/const
    low: Optional[int] = None  # smallest value accepted (check_ranges)
    default: Any = None

    @property
    def option(self) -> str:
        """The long spelling, as messages name it."""
        return self.flags[-1]


_SETTINGS = (
    Setting("weights", ("--weights",), group="weights",
            help="'none': seeded random weights (the id gets +random); torch/timm: another "
                 "weights tag of the architecture; keras: a .h5/.weights.h5 file"),
    Setting("checkpoint", ("--checkpoint",), group="weights", kwargs=dict(metavar="FILE|DIR"),
            help="weights file to use instead of downloading them (the id gets +ckpt-<sha8 of "
                 "the file>); predict also takes a folder: every checkpoint file in it, in "
                 "natural order, one cache each (a series: `score --checkpoint-series`)"),
    Setting("preprocess", ("--preprocess",), group="recipe",
            kwargs=dict(choices=("reference", "legacy2019")),
            help="reference (default): each weight's own recipe from the registry; legacy2019: "
                 "the 2019 study's pipeline (torch Resize(256) + CenterCrop(224|299); keras "
                 "nearest squash), id +legacy2019"),
    Setting("resize", ("--resize",), group="recipe", kwargs=dict(type=int, metavar="N"), low=1,
            help="shorter side before the centre crop"),
    Setting("crop", ("--crop",), group="recipe", kwargs=dict(type=int, metavar="N"), low=1,
            help="centre crop side"),
    Setting("img_size", ("--img-size",), group="recipe", kwargs=dict(type=int, metavar="N"), low=1,
            help="timm's spelling (validate.py): image size N, the model's crop_pct kept (the "
                 "resize scales with it) unless --crop-pct or --resize is given"),
    Setting("crop_pct", ("--crop-pct",), group="recipe", kwargs=dict(type=float, metavar="F"),
            help="timm's crop fraction: resize side floor(image size / F)"),
    Setting("interpolation", ("--interpolation",), group="recipe",
            kwargs=dict(choices=INTERPOLATIONS), help="resize filter"),
    Setting("mean", ("--mean",), group="recipe", kwargs=dict(type=floats, metavar="M[,M,M]"),
            help="per-channel mean on [0,1] pixels, 1 or 3 comma-separated numbers"),
    Setting("std", ("--std",), group="recipe", kwargs=dict(type=floats, metavar="S[,S,S]"),
            help="per-channel std on [0,1] pixels, 1 or 3 comma-separated numbers"),
    Setting("amp", ("--amp",), group="resources",
            kwargs=dict(nargs="?", const="auto", choices=("bf16", "fp16", "auto")),
            help="torch/timm mixed precision (autocast) in bf16 or fp16 (alone or 'auto': fp16 "
                 "on CUDA, bf16 elsewhere); changes the results, so the id gets +bf16/+fp16"),
    Setting("batch_size", ("-b", "--batch-size"), group="resources",
            kwargs=dict(type=int, metavar="N"), low=1,
            help="images per batch (default: the model library's, torch/timm 32, keras 1)"),
    Setting("workers", ("-j", "--workers"), group="resources", kwargs=dict(type=int, metavar="N"),
            low=0, help="torch/timm DataLoader worker processes that decode images (default: CPU "
                        "threads)"),
    Setting("threads", ("--threads",), group="resources", kwargs=dict(type=int, metavar="N"), low=1,
            help="CPU threads per process (default: cores / local processes)"),
    Setting("device", ("--device",), group="resources",
            help="torch/timm: auto (default: cuda > mps > cpu), cuda, cuda:N, mps or cpu"),
)
#: config.build keyword -> its Setting, in help order
SETTINGS: Dict[str, Setting] = {s.dest: s for s in _SETTINGS}

#: options of the runner (``runner.RunOptions``) shared by the commands that write caches
RUN_OPTIONS: Dict[str, Setting] = {s.dest: s for s in (
    Setting("checkpoint_every", ("--checkpoint-every",), group="run",
            kwargs=dict(type=int, metavar="N"), low=1, default=1000,
            help="save partial results every N images"),
    Setting("skip_bad_images", ("--skip-bad-images",), group="run", default=False,
            kwargs=dict(action="store_true"),
            help="record unreadable images as missing (counted wrong) instead of stopping"),
    Setting("save_all_probs", ("--save-all-probs",), group="run", default=False,
            kwargs=dict(action="store_true"),
            help="also store all 1,000 probabilities (float16)"),
    Setting("save_logits", ("--save-logits",), group="run", default=False,
            kwargs=dict(action="store_true"),
            help="also store the 1,000 logits (float32, 4 KB per image) for temperature scaling "
                 "in `score --calibration` (torch, timm, open_clip)"),
    Setting("overwrite", ("--overwrite",), group="run", default=False,
            kwargs=dict(action="store_true"),
            help="replace caches made with other settings"),
    Setting("no_progress", ("--no-progress",), group="run", default=False,
            kwargs=dict(action="store_true"),
            help="no progress bars"),
)}

#: command -> {setting: why it is left out (None default) or differs}; the parser comparison
#: test holds every command to the declaration except for these
DIFFERENCES: Dict[str, Dict[str, str]] = {
    "verify drift": {
        "device": "the checks run the model in this process on the CPU",
        "workers": "the checks decode the images in this process (no DataLoader workers)",
    },
    "verify determinism": {
        "device": "the checks run the model in this process on the CPU",
        "workers": "the checks decode the images in this process (no DataLoader workers)",
        "batch_size=32": "the batched run is compared with one-at-a-time runs, so it needs more "
                         "than one image per batch for every library (keras's own default is 1)",
    },
    "verify variants": {
        "amp": "the reference is float32 by definition; the autocast runs are its bf16/fp16 "
               "variants (--variants bf16,fp16)",
        "batch_size=32": "the batched runs (the torch reference, keras batchN) need more than one "
                         "image per batch for every library (keras's own default is 1)",
    },
    "sweep plan": {
        "amp auto": "accepted by the parser, refused by `sweep plan`: a sweep names its jobs' "
                    "caches when it is planned, not on the machine that runs them, so it cannot "
                    "pick the dtype for their device (--amp bf16 or fp16)",
        "checkpoint": "a sweep runs many models; a weights file belongs to one architecture "
                      "(predict -m NAME --checkpoint FILE runs it)",
    },
}


class LeftOut(argparse.Action):
    """A run setting ``command`` does not take: given, a usage error with the reason (hidden
    from ``--help``; without it, a prefix of another option could have read it)."""

    def __init__(self, option_strings, dest, command: str = "", reason: str = "", **kwargs):
        super().__init__(option_strings, f"left_out_{dest}", nargs=0, default=argparse.SUPPRESS,
                         help=argparse.SUPPRESS)
        self.command, self.reason = command, reason

    def __call__(self, parser, namespace, values, option_string=None):  # noqa: D102
        parser.error(f"{option_string} is not taken by {self.command}: {self.reason}. "
                     f"Fix: leave {option_string} out")


def add(parser: argparse.ArgumentParser, command: str,
        run_options: Iterable[str] = ()) -> None:
    """Add every run setting but those ``command``'s :data:`DIFFERENCES` leave out, and the
    named :data:`RUN_OPTIONS`, in groups titled by what they set."""
    differences = DIFFERENCES.get(command, {})
    titles = {"weights": "weights", "recipe": "recipe (any model; the id gets +recipe-<sha8>; a "
                                              "--model-factory model starts from resize 256, crop "
                                              "224, bilinear, ImageNet mean/std)",
              "resources": "numerics and resources", "run": "run"}
    groups: Dict[str, Any] = {}
    chosen = [s for s in SETTINGS.values() if s.dest not in differences]
    chosen += [RUN_OPTIONS[name] for name in run_options]
    for s in SETTINGS.values():
        if s.dest in differences:
            parser.add_argument(*s.flags, action=LeftOut, command=command, reason=differences[s.dest])
    for s in chosen:
        if s.group not in groups:
            groups[s.group] = parser.add_argument_group(titles[s.group])
        default = next((int(k.split("=")[1]) for k in differences if k.startswith(s.dest + "=")),
                       s.default)
        groups[s.group].add_argument(*s.flags, dest=s.dest, default=default, help=s.help,
                                     **s.kwargs)


def check_ranges(args, extra: Iterable[Setting] = ()) -> None:
    """Refuse a given setting (or run option, or ``extra`` one) below its bound, naming it."""
    for s in (*SETTINGS.values(), *RUN_OPTIONS.values(), *extra):
        value = getattr(args, s.dest, None)
        if s.low is not None and value is not None and value < s.low:
            raise InputError(f"{s.option} {value}: must be at least {s.low}. Fix: pass {s.option} "
                             f"{s.low} or more, or leave it out for the default")


def build_options(args, leave: Tuple[str, ...] = ("checkpoint",)) -> Dict[str, Any]:
    """``config.build``'s keywords from the run settings on ``args`` (those it has; ``leave``:
    keywords the caller passes itself)."""
    return {k: getattr(args, k) for k in SETTINGS if k not in leave and hasattr(args, k)}


"""``imagenet-bench prepare-val``: arrange the flat validation files into wnid folders.

What ``valprep.sh`` does, without deleting, moving or overwriting anything:
each ``SRC/ILSVRC2012_val_XXXXXXXX.JPEG`` gets a hard link (default), a
symbolic link or a copy at ``DST/<wnid>/ILSVRC2012_val_XXXXXXXX.JPEG``. A
file already at the destination with the same content is left alone; one with
different content stops the command.
"""
from __future__ import annotations

import argparse
import filecmp
import os
import shutil
import sys

from imagenet_bench.errors import InputError


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``prepare-val``."""
    p = subparsers.add_parser(
        "prepare-val", help="arrange the flat validation tarball's files into wnid folders",
        description="Link (or copy) the flat official validation files of SRC into one folder per "
                    "wnid under DST, as valprep.sh does. Nothing is deleted or overwritten.")
    p.add_argument("src", metavar="SRC", help="flat folder of ILSVRC2012_val_*.JPEG files")
    p.add_argument("dst", metavar="DST", help="new ImageFolder tree (created)")
    p.add_argument("--mode", choices=("hardlink", "symlink", "copy"), default="hardlink",
                   help="hardlink (default; falls back to copy across file systems), symlink or copy")
    p.add_argument("--devkit", metavar="DIR", help="labels from the ILSVRC2012 devkit (default: the "
                                                   "validation labels shipped with imagenet_bench)")
    p.set_defaults(func=run)
    return p


def _place(src: str, dst: str, mode: str) -> str:
    """Create ``dst`` from ``src``; return how ('hardlink', 'symlink', 'copy' or 'present')."""
    if os.path.lexists(dst):
        if os.path.exists(dst) and (os.path.samefile(src, dst) or filecmp.cmp(src, dst, shallow=False)):
            return "present"
        raise InputError(f"{dst} already exists with other content; nothing is overwritten. "
                         f"Fix: choose an empty DST or remove that file yourself")
    if mode == "hardlink":
        try:
            os.link(src, dst)
            return "hardlink"
        except OSError:
            mode = "copy"  # another file system, or links not allowed
    if mode == "symlink":
        os.symlink(os.path.abspath(src), dst)
        return "symlink"
    tmp = dst + ".tmp-prepare-val"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)
    return "copy"


def run(args) -> int:
    """Place every flat validation file in its wnid folder; report how each was placed."""
    from imagenet_bench.data import datasets

    src, dst = os.path.abspath(args.src), os.path.abspath(args.dst)
    valset = datasets.discover(src, devkit=args.devkit)
    if valset.source:
        raise InputError(f"{valset.root} is read in place ({valset.source['kind']}); nothing to "
                         f"prepare. Fix: pass it to predict/verify/sweep as it is")
    if valset.layout != "flat":
        raise InputError(f"{src} already holds wnid folders. Fix: use it as VAL_DIR directly")
    if dst == src or dst.startswith(src + os.sep):
        raise InputError(f"DST {dst} must be outside SRC {src}. Fix: give a DST folder that is "
                         f"not SRC nor inside it")

    counts = {}
    for image_id, path in zip(valset.image_ids, valset.paths):
        target = os.path.join(dst, *image_id.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        how = _place(path, target, args.mode)
        counts[how] = counts.get(how, 0) + 1
    words = {"hardlink": "hard links", "symlink": "symbolic links", "copy": "copies",
             "present": "already present"}
    said = ", ".join(f"{n:,} {words[how]}" for how, n in sorted(counts.items()))
    print(f"{valset.num_images:,} images in {valset.num_classes} wnid folders under {dst}: {said}")
    if counts.get("copy") and args.mode == "hardlink":
        print("hard links were not possible (different file system?); files were copied", file=sys.stderr)
    if not valset.is_full:
        print(valset.describe(), file=sys.stderr)
    return 0

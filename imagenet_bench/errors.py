"""The project's user-facing error types, and ``--debug`` (numpy-free, framework-free)."""
import os


class BenchError(Exception):
    """An error the user can fix: the message says what, where, and how to fix it.

    The CLI prints it without a traceback and exits with status 2.
    """


class InputError(BenchError, ValueError):
    """Bad user input: a file, an option or a combination of them."""


class BadImageError(BenchError, OSError):
    """An image file cannot be decoded (truncated, empty, not an image). Defined here, not in
    ``data.pixels``, so that the modules that only catch it need no PIL."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: cannot read image ({reason}). Fix: replace the file with the "
                         f"original, or pass --skip-bad-images to record it as missing (counted wrong)")
        self.path = str(path)
        self.reason = reason


class CheckpointError(InputError):
    """A weights file (``--checkpoint``) that cannot be loaded into the model: not a state
    dict, damaged, or of another architecture. A checkpoint series skips such files."""


def count(n: int, noun: str, plural: str = "") -> str:
    """``n`` and ``noun`` as a message says it: "1 model", "2 models", "1,000 classes"."""
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def debugging() -> bool:
    """True under ``--debug`` (or ``IMAGENET_BENCH_DEBUG`` set to anything but 0), which
    ``cli.main`` sets for the command and the children it spawns."""
    return os.environ.get("IMAGENET_BENCH_DEBUG", "") not in ("", "0")


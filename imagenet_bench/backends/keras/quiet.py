"""TensorFlow's and absl's start-up lines kept off the user's terminal unless ``--debug``.

TensorFlow's C++ runtime writes lines such as "WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR" and the oneDNN notice
straight to file descriptor 2 while it is imported; ``TF_CPP_MIN_LOG_LEVEL``
does not silence them (measured with tensorflow-cpu 2.21). :func:`import_quietly`
points descriptor 2 at a temporary file during the import and shows what was
written only if the import fails. ``--debug`` (``IMAGENET_BENCH_DEBUG=1``, which
``cli.main`` sets for the children it spawns) shows everything. Standard library only.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

from imagenet_bench.errors import debugging


@contextlib.contextmanager
def import_quietly():
    """Descriptor 2 into a temporary file for the block (unless debugging); replayed on error."""
    if debugging():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            log.seek(0)
            sys.stderr.write(log.read().decode("utf-8", "replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def quiet_python_loggers(tf) -> None:
    """TensorFlow's and absl's Python loggers at ERROR (unless debugging)."""
    if debugging():
        return
    tf.get_logger().setLevel("ERROR")
    try:
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)
    except ImportError:  # absl comes with TensorFlow; nothing to quiet without it
        pass

"""``python -m imagenet_bench`` runs the command-line tool."""
import sys

from imagenet_bench.cli.main import main

if __name__ == "__main__":
    sys.exit(main())

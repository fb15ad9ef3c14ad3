"""``imagenet-bench models``: list the model registry."""
from __future__ import annotations

from imagenet_bench.models import registry
from imagenet_bench.report import tables as report
from imagenet_bench.commands._common import add_output_args, emit

COLUMNS = [
    report.Column("name", "name"), report.Column("framework", "framework"),
    report.Column("input", "input"), report.Column("preprocessing", "preprocessing (reference)"),
    report.Column("legacy", "preprocessing (legacy2019)"),
    report.Column("weights", "weights"), report.Column("acc1", "published@1"),
    report.Column("acc5", "published@5"), report.Column("source", "source"),
]


def describe(recipe: registry.Recipe) -> str:
    """One-line summary of a preprocessing recipe."""
    if recipe.squash:
        size = f"squash {recipe.crop}x{recipe.crop}"
    else:
        size = f"resize {recipe.resize} + crop {recipe.crop}"
    norm = recipe.normalization.rsplit(".", 1)[-1]
    return f"{size} {recipe.interpolation}, norm={norm}"


def add_parser(sub) -> None:
    """Register the ``models`` subcommand."""
    p = sub.add_parser("models", help="list the registered models and their recipes",
                       description="List the model registry: name, framework, input size, "
                                   "preprocessing and the published accuracy with its source.")
    p.add_argument("pattern", nargs="?", help="fnmatch pattern, e.g. 'resnet*' or 'keras:*'")
    p.add_argument("--framework", choices=registry.FRAMEWORKS, help="only this framework")
    add_output_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    """Print the registry table."""
    rows = [{
        "name": s.qualname, "framework": s.framework, "input": s.input_size,
        "preprocessing": describe(s.recipe("reference")),
        "legacy": describe(s.recipe("legacy2019")), "weights": s.weights,
        "acc1": s.published_acc1, "acc5": s.published_acc5,
        "source": "torchvision metadata" if s.framework == "torch" else "Keras docs",
    } for s in registry.list_models(args.pattern, args.framework)]
    if not rows:
        print(f"no model matches {args.pattern!r}")
        return 1
    emit(report.render(rows, COLUMNS, args.format), args.output)
    return 0

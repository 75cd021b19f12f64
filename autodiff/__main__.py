"""The command line: ``python -m autodiff <command>`` (or the ``autodiff`` script).

Each subcommand lives in its own module, which defines ``add_command(subparsers)``: it adds its
parser and sets ``run=`` to a function ``run(args) -> exit status``. Adding a command is adding
its module's name to :data:`COMMANDS`.

Examples:
    >>> from autodiff.__main__ import main
    >>> main(["compare", "--inputs", "2", "--outputs", "3", "--repeat", "1", "--quiet"])
    ... # doctest: +ELLIPSIS
    f(x) = tanh(W x) + ½ W sin(x), W of shape M×N (seed 0)
    ...
    0
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: The modules that provide subcommands, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "autodiff.tour",
    "autodiff.compare",
    "autodiff.coverage",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand of :data:`COMMANDS` registered."""
    parser = argparse.ArgumentParser(
        prog="python -m autodiff",
        description="autodiff: forward and reverse mode automatic differentiation of NumPy code.",
    )
    sub = parser.add_subparsers(title="commands", metavar="<command>")
    for name in COMMANDS:
        importlib.import_module(name).add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return 2
    return int(run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

"""`python -m bench`: the whole benchmark suite in one run (see bench/README.md)."""

import sys

from bench import _malloc
from bench._threads import pin

# Before anything imports NumPy: BLAS reads its thread count once, when it loads.
pin(all_cores="--all-cores" in sys.argv[1:])
# Before any library allocates: the same allocator behaviour for every library (see _malloc).
_malloc.fix(default="--default-allocator" in sys.argv[1:])

from bench.cli import main  # noqa: E402

raise SystemExit(main())

"""Forward or reverse? Time both Jacobian builders on the same function and compare.

:func:`compare_modes` builds the Jacobian of ``f`` four ways (forward / reverse mode, looped /
vectorized), times each (the median of ``repeat`` runs), counts the sweeps, checks that the four
Jacobians agree, and recommends a mode by the sweep-count model: forward mode needs one JVP per
input entry (``n`` columns), reverse mode one VJP per output entry (``m`` rows).

:func:`builtin_problem` is the family of functions ``R^N → R^M`` that the command line
``python -m autodiff compare --inputs N --outputs M`` runs it on.

Examples:
    >>> import numpy as np, autodiff as ad
    >>> problem = ad.builtin_problem(2, 50)
    >>> result = ad.compare_modes(problem.f, problem.x, repeat=1)
    >>> result.recommended, result.agree
    ('forward', True)
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autodiff.core import check_float, prod, raw, shape_of
from autodiff.jacobian import SweepCount, jacfwd, jacrev

# --------------------------------------------------------------------------------------------
# The built-in family of functions
# --------------------------------------------------------------------------------------------


@dataclass
class Problem:
    """``f(x) = tanh(W x) + ½ W sin(x)``, ``R^N → R^M``, with a fixed-seed ``W`` of shape M×N.

    The ``tanh`` makes the Jacobian depend on the point, and the elementwise ``sin`` makes it
    more than a row scaling of ``W``:
    ``J = diag(1 − tanh²(W x)) W + ½ W diag(cos x)``.

    Attributes:
        n: input size N.
        m: output size M.
        seed: the seed of ``W`` and ``x``.
        W: the M×N matrix, entries ``N(0, 1/N)``.
        x: the point, entries ``N(0, 1)``.
    """

    n: int
    m: int
    seed: int = 0
    W: np.ndarray = field(init=False, repr=False)
    x: np.ndarray = field(init=False, repr=False)

    formula = "tanh(W x) + ½ W sin(x)"

    def __post_init__(self) -> None:
        if self.n < 1 or self.m < 1:
            raise ValueError(f"sizes must be at least 1, got N={self.n}, M={self.m}")
        rng = np.random.default_rng(self.seed)
        self.W = rng.normal(0.0, 1.0 / math.sqrt(self.n), (self.m, self.n))
        self.x = rng.normal(0.0, 1.0, self.n)

    def f(self, x: Any) -> Any:
        """The function, written with NumPy (autodiff's dispatch differentiates it)."""
        return np.tanh(self.W @ x) + 0.5 * (self.W @ np.sin(x))

    def jacobian(self, x: np.ndarray | None = None) -> np.ndarray:
        """The closed form ``diag(1 − tanh²(W x)) W + ½ W diag(cos x)``, shape M×N."""
        x = self.x if x is None else x
        t = np.tanh(self.W @ x)
        return (1 - t**2)[:, None] * self.W + 0.5 * self.W * np.cos(x)[None, :]


def builtin_problem(n: int, m: int, seed: int = 0) -> Problem:
    """The built-in function ``R^n → R^m`` of the ``compare`` command, with its point.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> p = ad.builtin_problem(3, 5)
        >>> p.f(p.x).shape, p.formula
        ((5,), 'tanh(W x) + ½ W sin(x)')
        >>> np.allclose(ad.jacrev(p.f)(p.x), p.jacobian())
        True
    """
    return Problem(n, m, seed)


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def _median_time(fn: Callable[[], Any], repeat: int, min_time: float = 0.0) -> float:
    """Median over ``repeat`` runs of the time of one call; short calls are looped."""
    loops = 1
    if min_time > 0:
        t0 = time.perf_counter()
        fn()
        once = time.perf_counter() - t0
        loops = max(1, min(10_000, int(min_time / max(once, 1e-9))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        times.append((time.perf_counter() - t0) / loops)
    return statistics.median(times)


@dataclass
class ModeTiming:
    """One way of building the Jacobian, timed.

    Attributes:
        mode: ``"forward"`` or ``"reverse"``.
        vectorized: one batched sweep (``True``) or one sweep per basis vector.
        seconds: median time of one Jacobian.
        sweeps: the sweeps one Jacobian took.
        times_f: ``seconds`` as a multiple of one plain evaluation of ``f``.
    """

    mode: str
    vectorized: bool
    seconds: float
    sweeps: SweepCount
    times_f: float

    @property
    def name(self) -> str:
        return f"{self.mode} {'vectorized' if self.vectorized else 'looped'}"


@dataclass
class ModeComparison:
    """The result of :func:`compare_modes`; ``print`` it for a table.

    Attributes:
        n: number of inputs (Jacobian columns).
        m: number of outputs (Jacobian rows).
        repeat: runs per median.
        f_seconds: median time of one plain evaluation of ``f``.
        timings: one :class:`ModeTiming` per configuration that ran.
        max_difference: largest absolute difference between any two Jacobians.
        agree: whether all Jacobians agree within the tolerance.
        recommended: the sweep-count model's choice, ``"forward"`` or ``"reverse"``.
        reason: why, in one sentence.
    """

    n: int
    m: int
    repeat: int
    f_seconds: float
    timings: list[ModeTiming]
    max_difference: float
    agree: bool
    recommended: str
    reason: str

    @property
    def fastest(self) -> ModeTiming:
        """The configuration with the smallest median time."""
        return min(self.timings, key=lambda t: t.seconds)

    def timing(self, mode: str, vectorized: bool = True) -> ModeTiming | None:
        """The timing of one configuration, or ``None`` if it did not run."""
        for t in self.timings:
            if t.mode == mode and t.vectorized == vectorized:
                return t
        return None

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers, ready for JSON."""
        return {
            "n": self.n,
            "m": self.m,
            "repeat": self.repeat,
            "f_seconds": self.f_seconds,
            "max_difference": self.max_difference,
            "agree": self.agree,
            "recommended": self.recommended,
            "fastest": self.fastest.name,
            "timings": [
                {
                    "mode": t.mode,
                    "vectorized": t.vectorized,
                    "seconds": t.seconds,
                    "times_f": t.times_f,
                    "jvp_sweeps": t.sweeps.jvp,
                    "vjp_sweeps": t.sweeps.vjp,
                    "recordings": t.sweeps.recordings,
                }
                for t in self.timings
            ],
        }

    def __str__(self) -> str:
        head = ("mode", "sweeps per Jacobian", "median time", "× f")
        rows = [
            (t.name, str(t.sweeps), _fmt_time(t.seconds), f"{t.times_f:,.1f}") for t in self.timings
        ]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
        align = (str.ljust, str.ljust, str.rjust, str.rjust)

        def line(r: Sequence[str]) -> str:
            return "  ".join(a(c, w) for a, c, w in zip(align, r, widths)).rstrip()

        text = [
            f"Jacobian of f: R^{self.n} → R^{self.m} (J is {self.m} × {self.n}); "
            f"median of {_plural(self.repeat, 'run')}; one evaluation of f takes "
            f"{_fmt_time(self.f_seconds)}",
            "",
            line(head),
            "  ".join("-" * w for w in widths),
            *(line(r) for r in rows),
            "",
            (
                f"all {len(self.timings)} Jacobians agree"
                if self.agree
                else f"THE JACOBIANS DISAGREE ({len(self.timings)} compared)"
            )
            + f" (max abs difference {self.max_difference:.2g})",
            f"sweep-count model recommends {self.recommended} mode: {self.reason}",
            f"fastest here: {self.fastest.name} ({_fmt_time(self.fastest.seconds)})",
        ]
        return "\n".join(text)

    __repr__ = __str__


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" + ("" if k == 1 else "s")


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _model(n: int, m: int) -> tuple[str, str]:
    if n < m:
        return "forward", f"{n} inputs < {m} outputs, so {n} JVP columns beat {m} VJP rows"
    if n == m:
        return "reverse", f"{n} inputs = {m} outputs: a tie, reverse mode is the default"
    return "reverse", f"{n} inputs > {m} outputs, so {m} VJP rows beat {n} JVP columns"


def compare_modes(
    f: Callable[..., Any],
    *inputs: Any,
    argnums: int = 0,
    repeat: int = 5,
    looped: bool = True,
    vectorized: bool = True,
    chunk_size: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ModeComparison:
    """Time forward and reverse Jacobians of ``f`` at ``inputs`` and recommend a mode.

    Each configuration runs once untimed (warm-up, the sweep count and the Jacobian for the
    agreement check), then ``repeat`` timed runs; the median is reported, also as a multiple of
    one plain evaluation of ``f``. The recommendation follows the sweep-count model (forward
    when ``n < m``); the measured fastest configuration is reported next to it.

    Args:
        f: a function of arrays.
        *inputs: the point.
        argnums: which argument to differentiate (an int).
        repeat: timed runs per configuration.
        looped: include the one-sweep-per-vector builders.
        vectorized: include the batched builders.
        chunk_size: passed to the vectorized builders.
        progress: called with a label after each step (the command line's progress bar).

    Returns:
        A :class:`ModeComparison`.

    Examples:
        >>> import numpy as np, autodiff as ad
        >>> W = np.random.default_rng(0).normal(size=(3, 40))
        >>> result = ad.compare_modes(lambda x: np.tanh(W @ x), np.ones(40), repeat=1)
        >>> result.recommended, result.timing("reverse").sweeps.vjp
        ('reverse', 1)
        >>> [t.name for t in result.timings]
        ['forward looped', 'forward vectorized', 'reverse looped', 'reverse vectorized']
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    if not (looped or vectorized):
        raise ValueError("nothing to compare: both looped and vectorized are off")
    if not isinstance(argnums, int):
        raise TypeError("compare_modes differentiates one argument: argnums must be an int")
    inputs = tuple(inputs)
    if not inputs:
        raise TypeError("compare_modes(f, *inputs) needs at least one input")
    x = check_float(inputs[argnums], f"input {argnums} of compare_modes")
    out = f(*inputs)
    if isinstance(out, tuple):
        raise TypeError("compare_modes needs f to return one array, not a tuple")
    n, m = prod(shape_of(x)), prod(shape_of(out))
    step = progress or (lambda label: None)

    f_seconds = _median_time(lambda: f(*inputs), max(repeat, 5), min_time=2e-3)
    step("f")
    configs = [
        (mode, vec)
        for mode in ("forward", "reverse")
        for vec in (False, True)
        if (vec and vectorized) or (not vec and looped)
    ]
    timings, jacobians = [], []
    for mode, vec in configs:
        builder = jacfwd if mode == "forward" else jacrev
        jac = builder(f, argnums, vectorize=vec, chunk_size=chunk_size if vec else None)
        with SweepCount() as sweeps:
            J = jac(*inputs)
        jacobians.append(np.asarray(raw(J)))
        seconds = _median_time(lambda jac=jac: jac(*inputs), repeat)
        timings.append(ModeTiming(mode, vec, seconds, sweeps, seconds / f_seconds))
        step(f"{mode} {'vectorized' if vec else 'looped'}")

    ref = jacobians[0]
    diffs = [float(np.max(np.abs(J - ref))) if J.size else 0.0 for J in jacobians[1:]]
    max_difference = max(diffs, default=0.0)
    loose = np.finfo(ref.dtype).eps ** 0.5 if np.issubdtype(ref.dtype, np.floating) else 1e-8
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    agree = all(
        J.shape == ref.shape and np.allclose(J, ref, rtol=loose, atol=loose * max(scale, 1.0))
        for J in jacobians[1:]
    )
    recommended, reason = _model(n, m)
    return ModeComparison(
        n=n,
        m=m,
        repeat=repeat,
        f_seconds=f_seconds,
        timings=timings,
        max_difference=max_difference,
        agree=agree,
        recommended=recommended,
        reason=reason,
    )


# --------------------------------------------------------------------------------------------
# Plot
# --------------------------------------------------------------------------------------------


def plot_comparisons(results: Sequence[ModeComparison], path: str, title: str = "") -> None:
    """Draw Jacobian time against N/M for both modes (log-log) and save a PNG at ``path``.

    Needs matplotlib (``pip install 'autodiff[plot]'``); raises ``ImportError`` without it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {"forward": "tab:blue", "reverse": "tab:orange"}
    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    ms = sorted({r.m for r in results})
    markers = "osD^v<>p*h"
    for k, m in enumerate(ms):
        group = sorted((r for r in results if r.m == m), key=lambda r: r.n / r.m)
        suffix = f", M = {m}" if len(ms) > 1 else ""
        for mode in ("forward", "reverse"):
            for vec in (True, False):
                pts = [(r.n / r.m, r.timing(mode, vec)) for r in group]
                pts = [(q, t.seconds * 1e3) for q, t in pts if t is not None]
                if not pts:
                    continue
                qs, ts = zip(*pts)
                ax.plot(
                    qs,
                    ts,
                    color=colors[mode],
                    linestyle="-" if vec else "--",
                    marker=markers[k % len(markers)],
                    linewidth=2 if vec else 1.3,
                    alpha=1.0 if vec else 0.75,
                    label=f"{mode}, {_how(mode, vec)}{suffix}",
                )
    ax.set_xscale("log")
    ax.set_yscale("log")
    if len(ms) == 1:  # one M: also show N itself, on top
        m = ms[0]
        top = ax.secondary_xaxis("top", functions=(lambda q: q * m, lambda n: n / m))
        top.set_xlabel(f"N (inputs), with M = {m} outputs")
    ax.axvline(1.0, color="gray", linestyle=":", linewidth=1)
    ax.text(
        1.0, 0.98, " N = M", transform=ax.get_xaxis_transform(), va="top", ha="left", color="gray"
    )
    ax.set_xlabel("N / M  (inputs / outputs)    ← forward mode wins | reverse mode wins →")
    ax.set_ylabel("time per Jacobian (ms, median)")
    sizes = ", ".join(f"{r.n}×{r.m}" for r in sorted(results, key=lambda r: (r.m, r.n)))
    ax.set_title(
        title or f"Jacobian of f(x) = {Problem.formula}: forward vs reverse mode", fontsize=11
    )
    fig.text(0.5, 0.005, f"N×M: {sizes}", ha="center", va="bottom", fontsize=8, color="gray")
    ax.grid(True, which="major", alpha=0.3)
    ax.grid(True, which="minor", alpha=0.1)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# The command line: python -m autodiff compare
# --------------------------------------------------------------------------------------------


def _how(mode: str, vectorized: bool) -> str:
    kind, count = ("JVP", "N") if mode == "forward" else ("VJP", "M")
    return f"vectorized (1 {kind} sweep)" if vectorized else f"looped ({count} {kind} sweeps)"


class _Progress:
    """tqdm when installed; otherwise one stderr line rewritten in place."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.done, self.enabled = total, 0, enabled
        self.bar = None
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, unit="step", leave=False, file=sys.stderr)

    def __call__(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(label, refresh=False)
            self.bar.update(1)
        else:
            width = 24
            full = width * self.done // max(self.total, 1)
            bar = "#" * full + "." * (width - full)
            sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label:<40}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled:
            sys.stderr.write("\r" + " " * 80 + "\r")
            sys.stderr.flush()


def summary_table(results: Sequence[ModeComparison]) -> str:
    """One row per size: the four median times, the model's choice and the fastest."""
    names = [("forward", False), ("forward", True), ("reverse", False), ("reverse", True)]
    head = ("N", "M", "fwd looped", "fwd vectorized", "rev looped", "rev vectorized", "model",
            "fastest", "agree")  # fmt: skip
    rows = []
    for r in results:
        times = []
        for mode, vec in names:
            t = r.timing(mode, vec)
            times.append("—" if t is None else _fmt_time(t.seconds))
        rows.append((str(r.n), str(r.m), *times, r.recommended, r.fastest.name,
                     "yes" if r.agree else "NO"))  # fmt: skip
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(row: Sequence[str]) -> str:
        cells = [c.rjust(w) if i < 6 else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "  ".join(cells).rstrip()

    return "\n".join([line(head), "  ".join("-" * w for w in widths), *map(line, rows)])


def add_command(subparsers: Any) -> None:
    """Register ``compare`` on the ``python -m autodiff`` command line."""
    p = subparsers.add_parser(
        "compare",
        help="time forward vs reverse Jacobians on f: R^N → R^M",
        description=(
            f"Build the Jacobian of the built-in f(x) = {Problem.formula} (W of shape M×N, fixed "
            "seed) in forward and reverse mode, looped and vectorized; print the median times, "
            "the sweeps and the recommended mode. Every N is paired with every M."
        ),
    )
    p.add_argument("--inputs", "-n", type=int, nargs="+", default=[10, 100, 1000], metavar="N",
                   help="input sizes N (default: 10 100 1000)")  # fmt: skip
    p.add_argument("--outputs", "-m", type=int, nargs="+", default=[100], metavar="M",
                   help="output sizes M (default: 100)")  # fmt: skip
    p.add_argument("--repeat", "-r", type=int, default=5, metavar="K",
                   help="timed runs per configuration, median shown (default: 5)")  # fmt: skip
    p.add_argument("--plot", metavar="FILE.png",
                   help="also draw time against N/M for both modes (needs matplotlib)")  # fmt: skip
    p.add_argument("--no-looped", action="store_true",
                   help="skip the one-sweep-per-vector builders (slow for big N, M)")  # fmt: skip
    p.add_argument("--chunk-size", type=int, default=None, metavar="K",
                   help="at most K basis vectors per vectorized sweep")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of W and x (default: 0)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.set_defaults(run=run_command)


def run_command(args: Any) -> int:
    """The ``compare`` command; returns the exit status."""
    sizes = [(n, m) for m in args.outputs for n in args.inputs]
    bad = [s for s in args.inputs + args.outputs if s < 1]
    if bad:
        print(f"compare: sizes must be at least 1, got {bad[0]}", file=sys.stderr)
        return 2
    if args.repeat < 1:
        print(f"compare: --repeat must be at least 1, got {args.repeat}", file=sys.stderr)
        return 2
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(
                "compare: --plot needs matplotlib, which is not installed; install it with "
                "pip install 'autodiff[plot]' (or pip install matplotlib), or drop --plot",
                file=sys.stderr,
            )
            return 2
    looped = not args.no_looped
    steps = 1 + (4 if looped else 2)
    progress = _Progress(len(sizes) * steps, enabled=not args.quiet)
    results = []
    try:
        for n, m in sizes:
            problem = builtin_problem(n, m, args.seed)

            def step(label: str, n: int = n, m: int = m) -> None:
                progress(f"N={n} M={m}: {label}")

            result = compare_modes(
                problem.f,
                problem.x,
                repeat=args.repeat,
                looped=looped,
                chunk_size=args.chunk_size,
                progress=step,
            )
            results.append(result)
    finally:
        progress.close()
    print(f"f(x) = {Problem.formula}, W of shape M×N (seed {args.seed})\n")
    if len(results) == 1:
        print(results[0])
    else:
        print(summary_table(results))
        print(
            f"\nmedian of {_plural(args.repeat, 'run')}; model: the sweep-count model's choice "
            "(forward when N < M); fastest: measured here"
        )
    if args.plot:
        plot_comparisons(results, args.plot)
        print(f"\nplot written to {args.plot}")
    return 0 if all(r.agree for r in results) else 1


__all__ = [
    "ModeComparison",
    "ModeTiming",
    "Problem",
    "add_command",
    "builtin_problem",
    "compare_modes",
    "plot_comparisons",
    "summary_table",
]

"""``python -m autodiff tour``: the two source documents' examples, in both modes, side by side.

Six sections: the tutorial's ``Q = 3a³ − b²`` (tape and dual numbers, both Jacobians, Jᵀv, the
Wengert tape), gradient accumulation, excluding tensors from the graph (and freezing ResNet-18), a
ResNet-18 training step, the note's linear model ``z = w·x + b`` under ``mse_loss`` (with its
arithmetic slip), and a small comparison of the modes. ``--section N`` runs one section,
``--lang es`` speaks Spanish, colour follows the terminal and ``NO_COLOR``.
"""

from __future__ import annotations

import copy
import os
import sys
import textwrap
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

import autodiff as ad

# ---- words ---------------------------------------------------------------------------------------

TEXT: dict[str, tuple[str, str]] = {
    "title": ("autodiff tour: the documents' examples in forward and reverse mode",
              "recorrido de autodiff: los ejemplos de los documentos en modo directo e inverso"),
    "s1": ("Differentiation in autograd: Q = 3a³ − b²", "Diferenciación en autograd: Q = 3a³ − b²"),
    "s2": ("Gradients accumulate in .grad", "Los gradientes se acumulan en .grad"),
    "s3": ("Excluding tensors from the graph; freezing ResNet-18",
           "Excluir tensores del grafo; congelar ResNet-18"),
    "s4": ("One ResNet-18 training step", "Un paso de entrenamiento de ResNet-18"),
    "s5": ("The linear model z = w·x + b under mse_loss",
           "El modelo lineal z = w·x + b con mse_loss"),
    "s6": ("Forward or reverse? A small comparison", "¿Directo o inverso? Una comparación pequeña"),
    "quantity": ("quantity", "magnitud"),
    "by_hand": ("by hand", "a mano"),
    "reverse": ("reverse (tape)", "inverso (cinta)"),
    "forward": ("forward (duals)", "directo (duales)"),
    "document": ("document prints", "el documento imprime"),
    "q_intro": ("a = [2, 3], b = [6, 4], both with requires_grad=True; Q.backward(gradient=[1, 1])"
                " sweeps the tape once; forward mode needs one JVP sweep per input.",
                "a = [2, 3], b = [6, 4], ambos con requires_grad=True; Q.backward(gradient=[1, 1])"
                " recorre la cinta una vez; el modo directo necesita un barrido JVP por entrada."),
    "jacobians": ("Jacobians: columns from JVPs (jacfwd), rows from VJPs (jacrev)",
                  "Jacobianas: columnas con JVP (jacfwd), filas con VJP (jacrev)"),
    "agree": ("agree", "coinciden"),
    "sweeps": ("sweeps", "barridos"),
    "tape": ("The Wengert tape of Q (one entry per primitive, in the order they ran):",
             "La cinta de Wengert de Q (una entrada por primitiva, en el orden en que se ejecutaron):"),
    "acc_intro": ("w = ones(4, requires_grad=True); three times (3·w).sum().backward():",
                  "w = ones(4, requires_grad=True); tres veces (3·w).sum().backward():"),
    "acc_call": ("backward call", "llamada a backward"),
    "acc_zero": ("after w.grad.zero_()", "tras w.grad.zero_()"),
    "acc_fwd": ("Forward mode keeps no .grad: each JVP sweep gives 3 again, nothing accumulates.",
                "El modo directo no guarda .grad: cada barrido JVP da 3 otra vez, nada se acumula."),
    "expression": ("expression", "expresión"),
    "trainable": ("trainable tensors", "tensores entrenables"),
    "before_freeze": ("ResNet-18 as built", "ResNet-18 recién creada"),
    "after_freeze": ("after freezing all, replacing fc", "tras congelar todo y cambiar fc"),
    "which": ("receive gradients", "reciben gradientes"),
    "loss_before": ("loss before the step", "pérdida antes del paso"),
    "loss_after": ("loss after the step", "pérdida después del paso"),
    "step_time": ("forward + backward + SGD step", "forward + backward + paso de SGD"),
    "params": ("parameter tensors", "tensores de parámetros"),
    "slip": ("The note's hand computation gives ∂loss/∂w = −1.4793: an arithmetic slip, since "
             "2·({d:.4f})·({x:.4f}) = {r:.4f}. The tape and the dual numbers agree on {r:.4f}.",
             "El cálculo a mano de la nota da ∂loss/∂w = −1.4793: un error aritmético, porque "
             "2·({d:.4f})·({x:.4f}) = {r:.4f}. La cinta y los números duales coinciden en {r:.4f}."),
    "x2": ("Now z = w·x² + b: no new derivative by hand, the same backward() gives 2(z − y)·x²:",
           "Ahora z = w·x² + b: ninguna derivada nueva a mano, el mismo backward() da 2(z − y)·x²:"),
    "cmp_intro": ("Jacobian of tanh(W x) + ½ W sin(x) for f: Rⁿ → Rᵐ, built both ways "
                  "(looped: one sweep per column or row).",
                  "Jacobiana de tanh(W x) + ½ W sin(x) para f: Rⁿ → Rᵐ, construida de las dos "
                  "formas (en bucle: un barrido por columna o fila)."),
    "winner": ("faster", "más rápido"),
    "failed": ("section {n} ({title}) failed", "la sección {n} ({title}) falló"),
    "done": ("{k} of {n} sections ran without error.", "{k} de {n} secciones sin errores."),
}  # fmt: skip


class Out:
    """Where the tour writes: language, colour, headings and aligned tables."""

    def __init__(self, stream: TextIO, lang: str, color: bool | None = None) -> None:
        self.stream = stream
        self.lang = lang
        if color is None:
            color = (
                hasattr(stream, "isatty")
                and stream.isatty()
                and "NO_COLOR" not in os.environ
                and os.environ.get("TERM") != "dumb"
            )
        self.color = color

    def t(self, key: str, **kw: Any) -> str:
        en, es = TEXT[key]
        return (es if self.lang == "es" else en).format(**kw)

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text

    def print(self, text: str = "") -> None:
        print(text, file=self.stream)

    def para(self, text: str) -> None:
        """A paragraph, wrapped to the terminal's usual width."""
        for line in textwrap.wrap(text, width=96) or [""]:
            self.print(line)

    def heading(self, n: int, title: str) -> None:
        self.print()
        self.print(self.paint(f"{n}. {title}", "1;36"))
        self.print(self.paint("─" * min(len(title) + 3, 78), "36"))

    def table(self, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        cells = [[str(c) for c in r] for r in [head, *rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
        head_line = "  ".join(h.ljust(w) for h, w in zip(cells[0], widths)).rstrip()
        self.print("  " + self.paint(head_line, "1"))
        self.print("  " + "  ".join("─" * w for w in widths))
        for r in cells[1:]:
            self.print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())

    def ok(self, flag: bool) -> str:
        return self.paint("✓", "32") if flag else self.paint("✗", "31")


def fmt(x: Any, digits: int = 4) -> str:
    """Numbers the way the documents print them: 4 decimals (whole numbers bare), nested lists."""
    value = np.asarray(ad.raw(x.detach() if isinstance(x, ad.Tensor) else x), dtype=float)
    if value.ndim == 0:
        v = float(value) + 0.0  # no "-0"
        return f"{v:.0f}" if v.is_integer() and value.ndim else f"{v:.{digits}f}"
    if value.ndim > 1:
        return "[" + ", ".join(fmt(row, digits) for row in value) + "]"
    items = [f"{v + 0.0:.0f}" if float(v).is_integer() else f"{v:.{digits}f}" for v in value]
    return "[" + ", ".join(items) + "]"


# ---- sections -------------------------------------------------------------------------------------


def section_q(out: Out) -> dict[str, Any]:
    a0, b0 = np.array([2.0, 3.0]), np.array([6.0, 4.0])
    a = ad.tensor(a0, requires_grad=True)
    b = ad.tensor(b0, requires_grad=True)
    Q = 3 * a**3 - b**2
    Q.backward(gradient=ad.tensor([1.0, 1.0]))

    def q(a, b):
        return 3 * a**3 - b**2

    _, dq_da = ad.jvp(q, (a0, b0), (np.ones(2), np.zeros(2)))
    _, dq_db = ad.jvp(q, (a0, b0), (np.zeros(2), np.ones(2)))
    out.para(out.t("q_intro"))
    out.print()
    out.table(
        [out.t("quantity"), out.t("by_hand"), out.t("reverse"), out.t("forward"), ""],
        [
            ["Q", fmt(q(a0, b0)), fmt(Q), fmt(ad.jvp(q, (a0, b0), (np.ones(2), np.zeros(2)))[0]),
             out.ok(np.array_equal(Q.detach().numpy(), q(a0, b0)))],
            ["∂Q/∂a = 9a²", fmt(9 * a0**2), fmt(a.grad), fmt(dq_da),
             out.ok(bool((9 * a**2 == a.grad).all()) and np.array_equal(dq_da, 9 * a0**2))],
            ["∂Q/∂b = −2b", fmt(-2 * b0), fmt(b.grad), fmt(dq_db),
             out.ok(bool((-2 * b == b.grad).all()) and np.array_equal(dq_db, -2 * b0))],
        ],
    )  # fmt: skip
    out.print()
    out.print(f"  9*a**2 == a.grad  →  {9 * a**2 == a.grad}")
    out.print(f"  -2*b == b.grad    →  {-2 * b == b.grad}")
    out.print()
    out.print(out.t("jacobians"))
    with ad.SweepCount() as fwd_count:
        jf = ad.jacfwd(q, argnums=(0, 1), vectorize=False)(a0, b0)
    with ad.SweepCount() as rev_count:
        jr = ad.jacrev(q, argnums=(0, 1), vectorize=False)(a0, b0)
    same = all(np.array_equal(x, y) for x, y in zip(jf, jr))
    out.table(
        ["", "∂Q/∂a", "∂Q/∂b", out.t("sweeps")],
        [["jacfwd", fmt(jf[0].tolist()), fmt(jf[1].tolist()), str(fwd_count)],
         ["jacrev", fmt(jr[0].tolist()), fmt(jr[1].tolist()), str(rev_count)]],
    )  # fmt: skip
    out.print(f"  jacfwd == jacrev: {out.ok(same)} {out.t('agree')}")
    out.print()
    report = ad.confirm_vjp(q, (a0, b0), np.ones(2))
    for line in str(report).splitlines():
        out.print("  " + line)
    out.print()
    out.print(out.t("tape"))
    for line in str(ad.tape(q, a0, b0)).splitlines():
        out.print("  " + line)
    return {
        "Q": Q.detach().numpy().tolist(),
        "a.grad": a.grad.tolist(),
        "b.grad": b.grad.tolist(),
        "jvp_a": dq_da.tolist(),
        "jvp_b": dq_db.tolist(),
        "jacobians_agree": same,
        "vjp_confirmed": report.ok,
    }


def section_accumulation(out: Out) -> dict[str, Any]:
    w = ad.ones(4, requires_grad=True)
    out.para(out.t("acc_intro"))
    rows, seen = [], []
    for k in range(1, 4):
        (3 * w).sum().backward()
        seen.append(w.grad.tolist())
        rows.append([f"{out.t('acc_call')} {k}", repr(w.grad)])
    w.grad.zero_()
    rows.append([out.t("acc_zero"), repr(w.grad)])
    out.table(["", "w.grad"], rows)
    _, t = ad.jvp(lambda w: (3 * w).sum(), (np.ones(4),), (np.ones(4) / 4,))
    out.print()
    out.para(out.t("acc_fwd") + f" (J·v = {fmt(t)} for v = [¼, ¼, ¼, ¼])")
    return {"grads": seen, "after_zero": w.grad.tolist()}


_MODELS: dict[str, Any] = {}


def _resnet18() -> Any:
    """A fresh ResNet-18 (built once with seed 0, then copied: building draws 11.7M numbers)."""
    if "resnet18" not in _MODELS:
        ad.manual_seed(0)
        _MODELS["resnet18"] = ad.models.resnet18()
    return copy.deepcopy(_MODELS["resnet18"])


def _trainable(model: Any) -> int:
    return sum(1 for p in model.parameters() if p.requires_grad)


def section_exclusion(out: Out) -> dict[str, Any]:
    ad.manual_seed(0)
    x, y = ad.rand(5, 5), ad.rand(5, 5)
    z = ad.rand((5, 5), requires_grad=True)
    with ad.no_grad():
        w = x + z
    out.table(
        [out.t("expression"), "requires_grad"],
        [["x + y", (x + y).requires_grad], ["x + z", (x + z).requires_grad],
         ["with ad.no_grad(): x + z", w.requires_grad]],
    )  # fmt: skip
    model = _resnet18()
    before = _trainable(model)
    for p in model.parameters():
        p.requires_grad_(False)
    model.fc = ad.nn.Linear(512, 10)
    after = _trainable(model)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    out.print()
    out.table(
        ["model", out.t("trainable"), out.t("which")],
        [[out.t("before_freeze"), before, "…"], [out.t("after_freeze"), after, ", ".join(names)]],
    )
    return {"x+y": (x + y).requires_grad, "x+z": (x + z).requires_grad,
            "no_grad": w.requires_grad, "before": before, "after": after, "names": names}  # fmt: skip


def section_resnet(out: Out) -> dict[str, Any]:
    model = _resnet18()
    ad.manual_seed(0)
    data = ad.rand(1, 3, 64, 64)
    labels = ad.rand(1, 1000)
    optimizer = ad.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    start = time.perf_counter()
    prediction = model(data)
    loss = (prediction - labels).sum()
    loss.backward()
    optimizer.step()
    elapsed = time.perf_counter() - start
    with ad.no_grad():
        after = (model(data) - labels).sum()
    n_params = len(list(model.parameters()))
    out.table(
        [out.t("quantity"), ""],
        [[out.t("params"), n_params], ["prediction.shape", tuple(prediction.shape)],
         [out.t("loss_before"), f"{loss.item():.4f}"], [out.t("loss_after"), f"{after.item():.4f}"],
         [out.t("step_time"), f"{elapsed:.2f} s"]],
    )  # fmt: skip
    return {"params": n_params, "loss_before": loss.item(), "loss_after": after.item(),
            "seconds": elapsed}  # fmt: skip


def section_linear(out: Out) -> dict[str, Any]:
    F = ad.nn.functional
    ad.manual_seed(10)
    x = ad.randn(1)
    y = ad.randn(1)
    ad.manual_seed(1)
    w = ad.randn(1, requires_grad=True)
    b = ad.randn(1, requires_grad=True)
    z = ad.matmul(x, w) + b
    loss = F.mse_loss(z, y, reduction="mean")
    loss.backward()
    xv, yv, wv, bv = (float(t.detach().numpy()[0]) for t in (x, y, w, b))
    zv = wv * xv + bv

    def loss_fn(w, b):
        return (w * xv + b - yv) ** 2

    _, dw_fwd = ad.jvp(loss_fn, (wv, bv), (1.0, 0.0))
    _, db_fwd = ad.jvp(loss_fn, (wv, bv), (0.0, 1.0))
    out.print(f"  x: {x}   y: {y}")
    out.print(f"  w: {w}   b: {b}")
    out.print(f"  z: {z}")
    out.print(f"  Loss: {loss.item()}")
    out.print()
    out.table(
        [out.t("quantity"), out.t("document"), out.t("by_hand"), out.t("reverse"),
         out.t("forward")],
        [["z", "-0.1308", fmt(zv), fmt(z.detach().numpy()[0]), ""],
         ["loss", "0.7769", fmt((zv - yv) ** 2), fmt(loss.item()), fmt(loss_fn(wv, bv))],
         ["∂loss/∂w = 2(z − y)·x", "-1.0601", fmt(2 * (zv - yv) * xv), fmt(w.grad.item()),
          fmt(dw_fwd)],
         ["∂loss/∂b = 2(z − y)", "1.7628", fmt(2 * (zv - yv)), fmt(b.grad.item()),
          fmt(db_fwd)]],
    )  # fmt: skip
    out.print()
    out.para(out.t("slip", d=zv - yv, x=xv, r=2 * (zv - yv) * xv))
    dw_rev, db_rev = w.grad.item(), b.grad.item()
    out.print()
    out.para(out.t("x2"))
    w.grad = None
    b.grad = None
    z2 = w * x**2 + b
    F.mse_loss(z2, y).backward()
    z2v = wv * xv**2 + bv
    out.table(
        [out.t("quantity"), out.t("by_hand"), out.t("reverse")],
        [["∂loss/∂w = 2(z − y)·x²", fmt(2 * (z2v - yv) * xv**2), fmt(w.grad.item())],
         ["∂loss/∂b = 2(z − y)", fmt(2 * (z2v - yv)), fmt(b.grad.item())]],
    )  # fmt: skip
    return {"x": xv, "y": yv, "w": wv, "b": bv, "z": float(z.detach().numpy()[0]),
            "loss": loss.item(), "w.grad": dw_rev, "b.grad": db_rev,
            "dw_forward": float(dw_fwd), "db_forward": float(db_fwd),
            "w.grad x²": w.grad.item(), "hand x²": 2 * (z2v - yv) * xv**2}  # fmt: skip


def section_compare(out: Out) -> dict[str, Any]:
    out.para(out.t("cmp_intro"))
    out.print()
    rows, winners = [], {}
    for n, m in [(4, 300), (300, 4), (60, 60)]:
        problem = ad.builtin_problem(n, m)
        result = ad.compare_modes(problem.f, problem.x, repeat=3, vectorized=False)
        fwd = result.timing("forward", vectorized=False)
        rev = result.timing("reverse", vectorized=False)
        winner = "forward" if fwd.seconds < rev.seconds else "reverse"
        winners[(n, m)] = winner
        rows.append([f"R^{n} → R^{m}", f"{fwd.sweeps.jvp} JVP", f"{fwd.seconds * 1e3:.2f} ms",
                     f"{rev.sweeps.vjp} VJP", f"{rev.seconds * 1e3:.2f} ms", winner])  # fmt: skip
    out.table(["f", "forward", "", "reverse", "", out.t("winner")], rows)
    return {"winners": winners}


SECTIONS: list[tuple[str, Callable[[Out], dict[str, Any]]]] = [
    ("s1", section_q),
    ("s2", section_accumulation),
    ("s3", section_exclusion),
    ("s4", section_resnet),
    ("s5", section_linear),
    ("s6", section_compare),
]


def run(
    sections: Sequence[int] | None = None, lang: str = "en", stream: TextIO | None = None,
    color: bool | None = None,
) -> tuple[int, dict[int, dict[str, Any]]]:  # fmt: skip
    """Run the tour; return the exit status and, per section number, the values it showed."""
    out = Out(stream or sys.stdout, lang, color)
    out.print(out.paint(out.t("title"), "1"))
    chosen = sections or list(range(1, len(SECTIONS) + 1))
    results: dict[int, dict[str, Any]] = {}
    failures = 0
    for n in chosen:
        key, fn = SECTIONS[n - 1]
        out.heading(n, out.t(key))
        try:
            results[n] = fn(out)
        except Exception:
            failures += 1
            out.print(out.paint(out.t("failed", n=n, title=out.t(key)), "1;31"))
            for line in traceback.format_exc().rstrip().splitlines():
                out.print("    " + line)
    out.print()
    out.print(out.t("done", k=len(chosen) - failures, n=len(chosen)))
    return (1 if failures else 0), results


def add_command(subparsers: Any) -> None:
    """Register ``tour`` on the ``python -m autodiff`` command line."""
    p = subparsers.add_parser(
        "tour",
        help="the documents' examples in forward and reverse mode, side by side",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("--section", "-s", type=int, nargs="+", choices=range(1, len(SECTIONS) + 1),
                   metavar="N", help=f"run only these sections (1–{len(SECTIONS)})")  # fmt: skip
    p.add_argument("--lang", choices=["en", "es"], default="en", help="language (en, es)")
    p.add_argument("--no-color", action="store_true", help="no colour, even on a terminal")
    p.set_defaults(run=lambda args: run(args.section, args.lang,
                                        color=False if args.no_color else None)[0])  # fmt: skip

"""autodiff.rng against reference values recorded from PyTorch's CPU generator.

The reference tables below were printed by this file's ``__main__`` block, run with torch 2.13.0
(the Linux x86-64 CPU wheel) installed:

    python tests/test_rng.py                              # REFERENCE, HASHES (build "AVX2")
    ATEN_CPU_CAPABILITY=default python tests/test_rng.py  # the *_DEFAULT tables

The tests themselves never import torch. Each case runs a list of calls (see ``CALLS``) from one
seed, in order, so interleavings and the cached Box–Muller sample are covered.
"""

from __future__ import annotations

import doctest
import hashlib
import math
import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pytest

from autodiff import rng

# ------------------------------------------------------------------------------------------------
# The calls, for autodiff.rng and (in __main__) for torch
# ------------------------------------------------------------------------------------------------

Call = tuple[Any, ...]

# fmt: off
CASES: dict[str, tuple[int, list[Call]]] = {
    "rand": (0, [("rand", 5, "float32"), ("rand", 5, "float64")]),
    # randn(17) is normal_fill with the last 16 recomputed; randn(5) is the serial path
    "randn_paths": (
        42,
        [("randn", 17, "float32"), ("randn", 16, "float64"), ("randn", 5, "float32"),
         ("randn", 1, "float64")],
    ),
    "interleaved": (
        3,
        [("randn", 1, "float32"), ("randn", 1, "float32"), ("rand", 3, "float32"),
         ("randn", 20, "float32"), ("randn", 3, "float64")],
    ),
    # uniform_ with width 1 (exact either way), serial normal_ with mean and std (an FMA in the
    # AVX2 build), normal_fill in float64 (std::fma in every build)
    "affine": (
        7,
        [("uniform", 20, "float32", -0.3, 0.7), ("uniform", 5, "float64", -0.3, 0.7),
         ("normal", 33, "float32", 0.37, 1.3), ("normal", 7, "float64", 0.37, 1.3),
         ("normal", 18, "float64", -0.37, 1.3)],
    ),
    # empty(4, 3).t().normal_(...): not contiguous, so the serial path, in memory order
    "transposed": (
        5,
        [("normal_t", 3, 4, "float32", 0.5, 1.3), ("uniform_t", 3, 4, "float64", -1.1, 0.3)],
    ),
    "integers": (
        0,
        [("randint", 0, 10, 10), ("randint", -(2**40), 2**40, 4), ("randint", -5, 2**28 + 3, 3),
         ("randperm", 20)],
    ),
}
# fmt: on

HASH_CASES: dict[str, tuple[int, Call]] = {
    "randn_f32": (123, ("randn", 100_000, "float32")),
    "randn_f64": (123, ("randn", 100_003, "float64")),
    "normal_f32": (9, ("normal", 10_001, "float32", 0.37, 1.3)),
    "uniform_f32": (9, ("uniform", 10_000, "float32", -0.123, 0.987)),
    "uniform_f64": (9, ("uniform", 10_000, "float64", -0.123, 0.987)),
    "rand_image": (2024, ("rand", (1, 3, 224, 224), "float32")),
    "randperm": (1, ("randperm", 60_000)),
}


def run_ours(g: rng.Generator, call: Call) -> np.ndarray:
    """One call on our generator."""
    op, *a = call
    if op == "rand":
        return g.rand(a[0], dtype=a[1])
    if op == "randn":
        return g.randn(a[0], dtype=a[1])
    if op == "uniform":
        return g.uniform(a[2], a[3], a[0], dtype=a[1])
    if op == "normal":
        return g.normal(a[2], a[3], a[0], dtype=a[1])
    if op in ("normal_t", "uniform_t"):
        rows, cols, dtype, p, q = a
        x = np.empty((cols, rows), dtype=dtype).T
        (g.normal_ if op == "normal_t" else g.uniform_)(x, p, q)
        return x
    if op == "randint":
        return g.randint(a[0], a[1], (a[2],))
    if op == "randperm":
        return g.randperm(a[0])
    raise ValueError(op)


def run_torch(call: Call) -> np.ndarray:  # pragma: no cover - only for __main__
    """The same call on torch's default generator."""
    import torch

    op, *a = call
    dt = {"float32": torch.float32, "float64": torch.float64}
    if op == "rand":
        return torch.rand(a[0], dtype=dt[a[1]]).numpy()
    if op == "randn":
        return torch.randn(a[0], dtype=dt[a[1]]).numpy()
    if op == "uniform":
        return torch.empty(a[0], dtype=dt[a[1]]).uniform_(a[2], a[3]).numpy()
    if op == "normal":
        return torch.empty(a[0], dtype=dt[a[1]]).normal_(a[2], a[3]).numpy()
    if op in ("normal_t", "uniform_t"):
        rows, cols, dtype, p, q = a
        t = torch.empty(cols, rows, dtype=dt[dtype]).t()
        (t.normal_ if op == "normal_t" else t.uniform_)(p, q)
        return t.numpy()
    if op == "randint":
        return torch.randint(a[0], a[1], (a[2],)).numpy()
    if op == "randperm":
        return torch.randperm(a[0]).numpy()
    raise ValueError(op)


def digest(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def parse(text: str, dtype: str) -> np.ndarray:
    return np.array(text.split(), dtype=np.float64 if dtype.startswith("float") else np.int64)


# ------------------------------------------------------------------------------------------------
# Reference data: torch 2.13.0+cpu, see the module docstring
# ------------------------------------------------------------------------------------------------

# fmt: off
# 2.13.0+cpu, get_cpu_capability() = AVX2
TUTORIAL = {
    # x, y after manual_seed(10); w, b after manual_seed(1); then rand(1, 3, 64, 64), rand(1, 1000)
    "xywb": np.array(
        [-0.6013928055763245, -1.0122097730636597, 0.6613521575927734, 0.266924113035202],
        dtype=np.float32,
    ),
    "img_head": np.array(
        [0.029281556606292725, 0.7998586297035217, 0.3971373438835144, 0.7543719410896301],
        dtype=np.float32,
    ),
    "img_sha256": "3ec7277b9cedfe2636adf9823e26e9922ac290028e892a5e815c48a8354e8a26",
    "vec_sha256": "1d58a282069c91adb5c76d7b2c4d31e3ed7e075ffbb295b6a08e30d9fc9d02aa",
    "state_sha256": "4e139feef39326001bcd0e2e7347895e3d5dc9a067ec58336ce45c8c19d490f6",
}
STATE_AFTER_SEED3_RANDN1_SHA256 = "3cd16fcd57464e8cf9625bf27fd84f899bc9ab2bb5caed92053359299fd450fb"
REFERENCE = {
    "rand": [
        ("float32", (
            "0.49625658988952637 0.7682217955589294 0.08847743272781372 0.13203048706054688 "
            "0.30742281675338745 "
        )),
        ("float64", (
            "0.07262971157225484 0.17155810530414428 0.0584505300016952 0.21373865012512683 "
            "0.3508719881882676 "
        )),
    ],
    "randn_paths": [
        ("float32", (
            "1.9269152879714966 -0.1595974713563919 -0.4973975419998169 0.439589262008667 "
            "-0.7581311464309692 1.078317642211914 0.8008005619049072 1.680620551109314 "
            "0.3558599054813385 1.2964228391647339 0.610466480255127 1.334737777709961 "
            "-0.2316243201494217 0.041759490966796875 -0.2515752911567688 0.859858512878418 "
            "-0.3097267746925354 "
        )),
        ("float64", (
            "-1.3694638974822624 -1.0841080995686818 -0.14575105673861496 -0.9047870815217213 "
            "2.0129064132697394 0.7115111762833064 -0.09459526690058441 -1.1391707113379665 "
            "-0.562016970540164 0.31823010599533713 0.7115522256926441 -1.3653058883649831 "
            "-0.9407813778843169 1.0898142302418383 0.7549254214717519 -1.1035292193160533 "
        )),
        ("float32", (
            "0.7045449018478394 1.2197387218475342 -0.6778203248977661 -0.5920337438583374 "
            "-0.6381967663764954 "
        )),
        ("float64", (
            "-1.9187372004636285 "
        )),
    ],
    "interleaved": [
        ("float32", (
            "0.8032760620117188 "
        )),
        ("float32", (
            "0.17483338713645935 "
        )),
        ("float32", (
            "0.47161436080932617 0.06011629104614258 0.7718658447265625 "
        )),
        ("float32", (
            "-1.596708059310913 0.6053608059883118 1.9861493110656738 0.6287151575088501 "
            "-0.03364326059818268 -0.34484532475471497 0.4936535656452179 "
            "-0.07758074998855591 -1.8053644895553589 -0.47603094577789307 "
            "-0.2929125428199768 -0.3480893075466156 1.35275399684906 0.3736353814601898 "
            "0.013416479341685772 0.7736731767654419 -0.10924351960420609 -0.2712145745754242 "
            "0.1416284739971161 0.1295178234577179 "
        )),
        ("float64", (
            "-0.217918256926002 0.16318363398938435 1.5073836266676335 "
        )),
    ],
    "affine": [
        ("float32", (
            "0.23492252826690674 -0.10119682550430298 0.35921168327331543 0.3568902611732483 "
            "-0.067238450050354 0.12506139278411865 -0.09291398525238037 0.3297363519668579 "
            "0.06531614065170288 0.5512683391571045 0.5549431443214417 0.2509351968765259 "
            "-0.013161003589630127 -0.09368062019348145 0.14509016275405884 "
            "0.05928593873977661 0.4203804135322571 -0.226948082447052 0.6699196100234985 "
            "-0.19221347570419312 "
        )),
        ("float64", (
            "-0.23697887954642488 -0.2424441667369613 -0.1325593982017949 "
            "-0.26236625941733066 -0.1778101576245938 "
        )),
        ("float32", (
            "-1.4304497241973877 1.0246330499649048 0.2614133059978485 0.3394787013530731 "
            "0.5966879725456238 3.3578453063964844 1.6142327785491943 -0.49042779207229614 "
            "2.188593864440918 2.197608709335327 -1.4516260623931885 2.0565366744995117 "
            "2.5032131671905518 -1.0036892890930176 0.029937272891402245 0.04482761025428772 "
            "1.4313933849334717 0.15750867128372192 0.5432117581367493 0.6073090434074402 "
            "-0.29902201890945435 1.4106744527816772 -1.246146559715271 -1.8630772829055786 "
            "-0.38710519671440125 0.9543622136116028 -0.781536340713501 1.926123857498169 "
            "0.9777006506919861 0.1828780621290207 -0.6856058835983276 -0.13255110383033752 "
            "-0.9780814051628113 "
        )),
        ("float64", (
            "2.4709962303663806 0.6971385129190418 0.30375209181453905 0.5419442536536473 "
            "0.8791022645306051 1.777873307920898 -1.341617019948499 "
        )),
        ("float64", (
            "-1.266812262939107 0.08639675712711035 0.10970687581439484 0.11377758256589882 "
            "0.5659070639368007 -0.7006731781151925 0.39404262666351103 -1.4929150057818104 "
            "-1.5458599071513617 -0.8126615550927313 -2.489391405468682 0.19210317182418535 "
            "0.23742723610929675 -0.9028497708695256 -0.6763508678655789 0.24587637430568554 "
            "1.1943202621161904 0.3635362013427998 "
        )),
    ],
    "transposed": [
        ("float32", (
            "-0.13281497359275818 1.367781639099121 -1.32221257686615 -0.6688756942749023 "
            "-0.2849680781364441 0.24336038529872894 -0.4913242757320404 -0.22513148188591003 "
            "-0.22552509605884552 3.025618553161621 1.3205773830413818 1.3979344367980957 "
        )),
        ("float64", (
            "0.021806878832135276 -0.6392870493809463 -0.03931248991708628 "
            "-0.5434144876417871 -0.7939557694808754 -0.6053363958675846 -0.3890348010108973 "
            "-1.0486342760523564 -0.9445364211744913 -0.5796150068930143 -0.18300255555174927 "
            "-0.6119101728553995 "
        )),
    ],
    "integers": [
        ("int64", (
            "4 9 3 0 3 9 7 3 7 3 "
        )),
        ("int64", (
            "91845220082 155896724055 -798620336680 -720383455860 "
        )),
        ("int64", (
            "95141388 145459562 134987465 "
        )),
        ("int64", (
            "4 2 9 11 17 5 7 14 19 12 15 0 18 10 8 1 13 3 16 6 "
        )),
    ],
}
HASHES = {
    "randn_f32": "12f538c38b97c3bb20ae544de40021805ed475e789d37993ec385dd304b56a79",
    "randn_f64": "834c841ef07ef0ed88178cc07ee8913dee52886ce3fd5ba5d20857d87da7389a",
    "normal_f32": "e51395225804ed998c1f0284416ed914d901fdcfbcc5df0430bf431635a5369c",
    "uniform_f32": "4f0c8d6a0e970db25ce426746a5826a069ebeaff20858302f5da52594848d018",
    "uniform_f64": "a40f4368c9d9c8793aa31e6ee38662585b87f6ceb9083f0ae2906eb23b1a434a",
    "rand_image": "3efc0d466d248e08bfb0bfd17c37c48aabfeff481ed673be47e8acb77dbdc27a",
    "randperm": "1e8385d7899b4c8f2e9f55480fc4c1775cc691c5170f3cf7aa1f43b9c8bc6e0a",
}
# 2.13.0+cpu, get_cpu_capability() = DEFAULT
REFERENCE_DEFAULT = {
    "randn_paths": [
        ("float32", (
            "1.9269150495529175 -0.15959732234477997 -0.4973974823951721 0.4395892322063446 "
            "-0.7581311464309692 1.078317642211914 0.8008005023002625 1.680620551109314 "
            "0.35585978627204895 1.2964228391647339 0.610466480255127 1.334737777709961 "
            "-0.2316243201494217 0.041759490966796875 -0.2515752911567688 0.859858512878418 "
            "-0.30972692370414734 "
        )),
        ("float64", (
            "-1.3694638974822624 -1.0841080995686818 -0.14575105673861496 -0.9047870815217213 "
            "2.0129064132697394 0.7115111762833064 -0.09459526690058441 -1.1391707113379665 "
            "-0.562016970540164 0.31823010599533713 0.7115522256926441 -1.3653058883649831 "
            "-0.9407813778843169 1.0898142302418383 0.7549254214717519 -1.1035292193160533 "
        )),
        ("float32", (
            "0.7045449018478394 1.2197387218475342 -0.6778203248977661 -0.5920337438583374 "
            "-0.6381967663764954 "
        )),
        ("float64", (
            "-1.9187372004636285 "
        )),
    ],
    "interleaved": [
        ("float32", (
            "0.8032760620117188 "
        )),
        ("float32", (
            "0.17483338713645935 "
        )),
        ("float32", (
            "0.47161436080932617 0.06011629104614258 0.7718658447265625 "
        )),
        ("float32", (
            "-1.596708059310913 0.605360746383667 1.9861493110656738 0.6287152171134949 "
            "-0.03364326432347298 -0.34484532475471497 0.4936535656452179 "
            "-0.07758065313100815 -1.8053644895553589 -0.47603103518486023 "
            "-0.29291248321533203 -0.3480893075466156 1.35275399684906 0.3736353814601898 "
            "0.013416478410363197 0.7736731767654419 -0.10924351960420609 "
            "-0.27121448516845703 0.14162853360176086 0.1295178383588791 "
        )),
        ("float64", (
            "-0.217918256926002 0.16318363398938435 1.5073836266676335 "
        )),
    ],
    "affine": [
        ("float32", (
            "0.23492252826690674 -0.10119682550430298 0.35921168327331543 0.3568902611732483 "
            "-0.067238450050354 0.12506139278411865 -0.09291398525238037 0.3297363519668579 "
            "0.06531614065170288 0.5512683391571045 0.5549431443214417 0.2509351968765259 "
            "-0.013161003589630127 -0.09368062019348145 0.14509016275405884 "
            "0.05928593873977661 0.4203804135322571 -0.226948082447052 0.6699196100234985 "
            "-0.19221347570419312 "
        )),
        ("float64", (
            "-0.23697887954642488 -0.2424441667369613 -0.1325593982017949 "
            "-0.26236625941733066 -0.1778101576245938 "
        )),
        ("float32", (
            "-1.4304497241973877 1.0246329307556152 0.2614133059978485 0.3394787013530731 "
            "0.5966879725456238 3.3578453063964844 1.6142326593399048 -0.49042779207229614 "
            "2.188593864440918 2.197608709335327 -1.451626181602478 2.0565366744995117 "
            "2.5032131671905518 -1.0036892890930176 0.0299366544932127 0.04482761025428772 "
            "1.4313933849334717 0.15750867128372192 0.5432111620903015 0.6073090434074402 "
            "-0.29902201890945435 1.4106744527816772 -1.246146559715271 -1.8630775213241577 "
            "-0.3871057331562042 0.9543622136116028 -0.781536340713501 1.926123857498169 "
            "0.9777006506919861 0.1828780621290207 -0.6856058835983276 -0.13255059719085693 "
            "-0.9780811071395874 "
        )),
        ("float64", (
            "2.4709962303663806 0.6971385129190418 0.30375209181453905 0.5419442536536474 "
            "0.8791022645306051 1.7778733079208981 -1.3416170199484987 "
        )),
        ("float64", (
            "-1.266812262939107 0.08639675712711035 0.10970687581439484 0.11377758256589882 "
            "0.5659070639368007 -0.7006731781151925 0.39404262666351103 -1.4929150057818104 "
            "-1.5458599071513617 -0.8126615550927313 -2.489391405468682 0.19210317182418535 "
            "0.23742723610929675 -0.9028497708695256 -0.6763508678655789 0.24587637430568554 "
            "1.1943202621161904 0.3635362013427998 "
        )),
    ],
    "transposed": [
        ("float32", (
            "-0.13281497359275818 1.367781639099121 -1.32221257686615 -0.6688756942749023 "
            "-0.2849680781364441 0.24336038529872894 -0.4913242757320404 -0.22513148188591003 "
            "-0.22552509605884552 3.025618553161621 1.3205773830413818 1.3979344367980957 "
        )),
        ("float64", (
            "0.02180687883213528 -0.6392870493809463 -0.039312489917086246 "
            "-0.5434144876417871 -0.7939557694808754 -0.6053363958675846 -0.38903480101089727 "
            "-1.0486342760523564 -0.9445364211744913 -0.5796150068930143 -0.18300255555174927 "
            "-0.6119101728553995 "
        )),
    ],
}
HASHES_DEFAULT = {
    "randn_f32": "60f0bb7e452bc1ff5b161f1af0626c3d4460fda6495b0a46021b76b53262243b",
    "normal_f32": "574504c8365b52c10d3320423278d9901b42d51c39a6bda3a08003cc8a25be46",
    "uniform_f32": "61c2706e4226053898f68dd3038c1ace3c4f007ddfa74288ab0d08e7f5b67007",
    "uniform_f64": "099924429f9c570939848711b5f88aa1dc46f4318a01b5940497717d733e3b37",
}
# fmt: on


def avx2(seed: int = 0) -> rng.Generator:
    return rng.Generator(seed, cpu_capability="avx2")


# ------------------------------------------------------------------------------------------------
# Bit-for-bit against torch
# ------------------------------------------------------------------------------------------------


def test_tutorial_values_print_as_in_torch():
    g = avx2()
    for dtype in (np.float32, np.float64):
        g.manual_seed(10)
        x, y = g.randn(1, dtype=dtype), g.randn(1, dtype=dtype)
        g.manual_seed(1)
        w, b = g.randn(1, dtype=dtype), g.randn(1, dtype=dtype)
        assert [f"{v[0]:.4f}" for v in (x, y, w, b)] == ["-0.6014", "-1.0122", "0.6614", "0.2669"]
        assert np.array_equal(np.concatenate([x, y, w, b]).astype(np.float32), TUTORIAL["xywb"])


def test_tutorial_sequence_is_bit_exact():
    g = avx2(10)
    g.randn(1, dtype=np.float32), g.randn(1, dtype=np.float32)
    g.manual_seed(1)
    g.randn(1, dtype=np.float32), g.randn(1, dtype=np.float32)
    img = g.rand(1, 3, 64, 64, dtype=np.float32)
    vec = g.rand(1, 1000, dtype=np.float32)
    assert img.shape == (1, 3, 64, 64) and vec.shape == (1, 1000)
    assert np.array_equal(img.ravel()[:4], TUTORIAL["img_head"])
    assert digest(img) == TUTORIAL["img_sha256"]
    assert digest(vec) == TUTORIAL["vec_sha256"]
    assert digest(g.get_state()) == TUTORIAL["state_sha256"]


def test_tutorial_through_module_functions():
    rng.manual_seed(10)
    assert f"{rng.randn(1)[0]:.4f} {rng.randn(1)[0]:.4f}" == "-0.6014 -1.0122"
    rng.manual_seed(1)
    w = rng.randn(1, sample_dtype=np.float32)
    b = rng.randn(1, sample_dtype=np.float32)
    assert w.dtype == np.float64 and f"{w[0]:.4f} {b[0]:.4f}" == "0.6614 0.2669"
    head = rng.rand(1, 3, 64, 64, sample_dtype=np.float32).ravel()[:4]
    assert np.array_equal(head, TUTORIAL["img_head"])


@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_arrays(name: str):
    seed, calls = CASES[name]
    g = avx2(seed)
    for call, (dtype, text) in zip(calls, REFERENCE[name], strict=True):
        got = run_ours(g, call)
        assert got.dtype == np.dtype(dtype), call
        assert np.array_equal(got.ravel(), parse(text, dtype).astype(dtype)), call


@pytest.mark.parametrize("name", sorted(HASH_CASES))
def test_reference_hashes(name: str):
    seed, call = HASH_CASES[name]
    assert digest(run_ours(avx2(seed), call)) == HASHES[name]


def test_state_bytes_are_torchs():
    g = avx2(3)
    g.randn(1)  # leaves a cached sample, which the state carries
    assert digest(g.get_state()) == STATE_AFTER_SEED3_RANDN1_SHA256


@pytest.mark.parametrize("name", sorted(REFERENCE_DEFAULT))
def test_default_build_reference(name: str):
    """torch's DEFAULT build (no FMA contraction): exact except float32 normal_fill, whose glibc
    logf/sinf/cosf we replace by correctly rounded values (a few ulp apart at most)."""
    seed, calls = CASES[name]
    g = rng.Generator(seed, cpu_capability="default")
    for call, (dtype, text) in zip(calls, REFERENCE_DEFAULT[name], strict=True):
        got = run_ours(g, call).ravel()
        want = parse(text, dtype).astype(dtype)
        if _is_float32_normal_fill(call):
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        else:
            assert np.array_equal(got, want), call


def _is_float32_normal_fill(call: Call) -> bool:
    return call[0] in ("randn", "normal") and call[2] == "float32" and call[1] >= 16


@pytest.mark.parametrize(
    "name", sorted(n for n in HASHES_DEFAULT if not _is_float32_normal_fill(HASH_CASES[n][1]))
)
def test_default_build_hashes(name: str):
    seed, call = HASH_CASES[name]
    got = run_ours(rng.Generator(seed, cpu_capability="default"), call)
    assert digest(got) == HASHES_DEFAULT[name]


# ------------------------------------------------------------------------------------------------
# Determinism, state, API
# ------------------------------------------------------------------------------------------------


def test_manual_seed_is_deterministic():
    g = rng.Generator()
    a = [g.manual_seed(5).rand(7), g.randn(3), g.randn(40), g.randint(0, 9, (4,))]
    b = [g.manual_seed(5).rand(7), g.randn(3), g.randn(40), g.randint(0, 9, (4,))]
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x, y)
    assert not np.array_equal(g.manual_seed(6).rand(7), a[0])


def test_manual_seed_drops_the_cached_normal():
    g = avx2(0)
    g.randn(1)  # caches r * sin
    first = g.manual_seed(0).randn(1)
    assert np.array_equal(first, avx2(0).randn(1))


def test_seeds_wrap_like_torch():
    g = rng.Generator()
    assert g.manual_seed(-1).initial_seed() == 2**64 - 1
    assert np.array_equal(g.manual_seed(-1).rand(3), g.manual_seed(2**32 - 1).rand(3))
    assert np.array_equal(g.manual_seed(2**32 + 5).rand(3), g.manual_seed(5).rand(3))
    assert g.manual_seed(2**32 + 5).initial_seed() == 2**32 + 5
    for bad in (2**64, -(2**63) - 1):
        with pytest.raises(ValueError):
            g.manual_seed(bad)
    assert rng.Generator().initial_seed() == rng.DEFAULT_SEED


def test_engine_outputs():
    # mt19937 with init_genrand(5489) gives 3499211612 first; torch seeds the same way.
    g = rng.Generator(5489)
    assert g.random() == 3499211612
    g = rng.Generator(1)
    words = g.random_uint32(4)
    g.manual_seed(1)
    assert g.random() == words[0] and g.random() == words[1]
    assert g.random64() == (int(words[2]) << 32) | int(words[3])


def test_bulk_draws_match_one_at_a_time():
    g = rng.Generator(77)
    bulk = g.random_uint32(3000)
    g.manual_seed(77)
    parts = [g.random_uint32(n) for n in (1, 622, 1, 1, 700, 1248, 427)]
    assert np.array_equal(np.concatenate(parts), bulk)


def test_state_round_trip():
    g = avx2(11)
    g.rand(700)
    g.randn(3)  # odd count: leaves a cached sample
    state = g.get_state()
    assert state.dtype == np.uint8 and state.shape == (rng.STATE_SIZE,)
    after = [g.randn(1), g.rand(5), g.randn(20, dtype=np.float32)]
    h = avx2(0).set_state(state)  # same float32 kernel as g: the state does not carry it
    assert np.array_equal(h.get_state(), state)
    for x, y in zip(after, [h.randn(1), h.rand(5), h.randn(20, dtype=np.float32)], strict=True):
        assert np.array_equal(x, y)
    c = g.clone()
    assert np.array_equal(c.rand(9), g.rand(9))


def test_set_state_accepts_the_legacy_layout_and_rejects_garbage():
    g = rng.Generator(4)
    g.randn(1)
    state = g.get_state()
    h = rng.Generator().set_state(state[:5048])
    assert np.array_equal(h.randn(4), g.randn(4))
    with pytest.raises(ValueError):
        g.set_state(state[:100])
    bad = state.copy()
    bad[8:12] = 0  # left = 0
    with pytest.raises(ValueError):
        g.set_state(bad)


def test_module_functions_use_the_default_generator():
    rng.manual_seed(21)
    a = rng.rand(4)
    assert rng.initial_seed() == 21
    state = rng.get_rng_state()
    b = rng.randn(3)
    rng.set_rng_state(state)
    assert np.array_equal(rng.randn(3), b)
    assert np.array_equal(a, rng.Generator(21).rand(4))
    g = rng.Generator(21)
    assert np.array_equal(rng.rand(4, generator=g), a)


def test_global_random_state_is_untouched():
    py_state = random.getstate()
    np_state = np.random.get_state()
    rng.seed()
    rng.manual_seed(3)
    rng.rand(10), rng.randn(30), rng.randint(0, 5, (3,)), rng.randperm(10)
    rng.Generator().seed()
    assert random.getstate() == py_state
    after = np.random.get_state()
    assert all(np.array_equal(x, y) for x, y in zip(np_state, after, strict=True))


@pytest.mark.parametrize(
    "size, shape",
    [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), (((2, 3),), (2, 3)), (([4, 1],), (4, 1)),
     ((0,), (0,)), ((2, 0, 3), (2, 0, 3)), ((np.int64(3),), (3,))],
)  # fmt: skip
def test_shapes_and_dtypes(size: tuple, shape: tuple):
    g = rng.Generator(0)
    for fn in (g.rand, g.randn):
        assert fn(*size).shape == shape
        assert fn(*size).dtype == np.float64
        assert fn(*size, dtype=np.float32).dtype == np.float32
        out = fn(*size, sample_dtype=np.float32)
        assert out.dtype == np.float64 and out.shape == shape
    assert g.randint(0, 3, size[0] if len(size) == 1 else size).dtype == np.int64


def test_sample_dtype_replays_the_other_stream():
    wide = avx2(0).rand(5, sample_dtype=np.float32)
    narrow = avx2(0).rand(5, dtype=np.float32)
    assert wide.dtype == np.float64 and np.array_equal(wide, narrow.astype(np.float64))
    assert not np.array_equal(avx2(0).rand(5), wide)  # torch's float64 stream differs


def test_empty_draws_consume_nothing():
    g = rng.Generator(8)
    assert g.rand(0).size == 0 and g.randn(0, 4).size == 0 and g.randperm(0).size == 0
    assert np.array_equal(g.rand(3), rng.Generator(8).rand(3))


def test_uniform_and_normal_ranges_and_errors():
    g = rng.Generator(1)
    for dtype in (np.float32, np.float64):
        x = g.uniform(-2.0, 3.0, 5000, dtype=dtype)
        assert x.min() >= -2.0 and x.max() < 3.0
        assert np.array_equal(g.uniform(1.5, 1.5, 4, dtype=dtype), np.full(4, 1.5, dtype))
    big = g.normal(3.0, 0.5, 20000)
    assert abs(big.mean() - 3.0) < 0.02 and abs(big.std() - 0.5) < 0.02
    assert np.array_equal(g.normal(0.25, 0.0, 20), np.full(20, 0.25))
    with pytest.raises(ValueError):
        g.uniform(1.0, 0.0, 3)
    with pytest.raises(ValueError):
        g.normal(0.0, -1.0, 3)
    with pytest.raises(TypeError):
        g.rand(3, dtype=np.int32)


def test_in_place_fills():
    g = avx2(2)
    w = np.empty((4, 5), dtype=np.float32)
    assert g.uniform_(w, -0.1, 0.1) is w
    assert np.array_equal(w.ravel(), avx2(2).uniform(-0.1, 0.1, 20, dtype=np.float32))
    v = np.empty(40)
    g.manual_seed(2).normal_(v, 0.0, 0.02)
    assert np.array_equal(v, avx2(2).normal(0.0, 0.02, 40))
    read_only = np.zeros(3)
    read_only.setflags(write=False)
    with pytest.raises(ValueError):
        g.normal_(read_only)
    with pytest.raises(TypeError):
        g.uniform_(np.zeros(3, dtype=np.int64))


def test_randint_and_randperm():
    g = rng.Generator(3)
    x = g.randint(-3, 4, (1000,))
    assert x.min() == -3 and x.max() == 3
    assert np.array_equal(g.manual_seed(3).randint(7, (5,)), rng.Generator(3).randint(0, 7, (5,)))
    big = g.randint(0, 2**40, (1000,))
    assert big.max() > 2**32
    assert g.randint(0, 10, (3,), dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError):
        g.randint(5, 5, (2,))
    with pytest.raises(TypeError):
        g.randint(0, 10)
    for n in (1, 2, 17, 1000):
        assert sorted(g.randperm(n).tolist()) == list(range(n))


def test_cpu_capability_choice(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "default")
    assert rng.detect_cpu_capability() == "default"
    assert rng.Generator().cpu_capability == "default"
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    assert rng.detect_cpu_capability() == "avx2"
    monkeypatch.delenv("ATEN_CPU_CAPABILITY")
    assert rng.detect_cpu_capability() in ("avx2", "avx512", "default")


def test_builds_agree_where_torch_builds_agree():
    """Only float32 normal_fill and affine uniform_/normal_ depend on the build."""
    gens = [rng.Generator(9, cpu_capability=c) for c in ("avx2", "avx512", "default")]
    for make in (
        lambda g: g.rand(100, dtype=np.float32),
        lambda g: g.randn(100),
        lambda g: g.randn(7, dtype=np.float32),
        lambda g: g.normal(0.0, 0.3, 50),
    ):
        outs = [make(g) for g in gens]
        assert all(np.array_equal(outs[0], o) for o in outs[1:])
    near = [g.randn(1000, dtype=np.float32) for g in gens]
    np.testing.assert_allclose(near[0], near[2], rtol=0, atol=2e-6)
    assert np.array_equal(near[1], near[2])


# ------------------------------------------------------------------------------------------------
# The floating-point helpers
# ------------------------------------------------------------------------------------------------


def _exact_fma(a: float, b: float, c: float) -> Fraction:
    return Fraction(a) * Fraction(b) + Fraction(c)


def test_fma64_is_correctly_rounded():
    r = np.random.default_rng(0)
    a = r.standard_normal(3000) * 10.0 ** r.integers(-5, 5, 3000)
    b = r.standard_normal(3000)
    c = -a * b * (1 + r.standard_normal(3000) * 1e-9)  # heavy cancellation
    c[::3] = r.standard_normal(1000)
    got = rng._fma64(a, b, c)
    for x, y, z, g in zip(a.tolist(), b.tolist(), c.tolist(), got.tolist(), strict=True):
        exact = _exact_fma(x, y, z)
        assert g == float(exact), (x, y, z)  # float(Fraction) rounds to nearest even


def test_fma32_is_correctly_rounded():
    r = np.random.default_rng(1)
    a = r.standard_normal(5000).astype(np.float32)
    b = r.standard_normal(5000).astype(np.float32)
    c = (-(a.astype(np.float64) * b) * (1 + r.standard_normal(5000) * 1e-6)).astype(np.float32)
    # halfway cases for the double rounding: products of 24-bit values that land on a float tie
    a[:50] = np.float32(1 + 2**-23)
    b[:50] = np.float32(1 + 2**-23)
    c[:50] = np.float32(1)
    got = rng._fma32(a, b, c)
    for x, y, z, g in zip(a.tolist(), b.tolist(), c.tolist(), got.tolist(), strict=True):
        exact = _exact_fma(x, y, z)
        assert g == float(np.float32(_round_to_float32(exact))), (x, y, z)


def _round_to_float32(x: Fraction) -> float:
    """Round a rational to the nearest float32 (ties to even), for normal magnitudes."""
    if x == 0:
        return 0.0
    e = math.floor(math.log2(abs(x)))
    while Fraction(2) ** e > abs(x):
        e -= 1
    while Fraction(2) ** (e + 1) <= abs(x):
        e += 1
    ulp = Fraction(2) ** (e - 23)
    q, rem = divmod(x / ulp, 1)
    if rem > Fraction(1, 2) or (rem == Fraction(1, 2) and q % 2 == 1):
        q += 1
    return float(q * ulp)


def test_libm_choice_matches_math_module():
    x = np.linspace(0.001, 6.28, 997)
    for name, f in (("log", math.log), ("sin", math.sin), ("cos", math.cos)):
        assert rng._libm(name)(x).tolist() == [f(v) for v in x.tolist()]


# ------------------------------------------------------------------------------------------------
# Speed and docs
# ------------------------------------------------------------------------------------------------


def test_docstring_examples():
    failures, tried = doctest.testmod(rng, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 10 and failures == 0


# ------------------------------------------------------------------------------------------------
# Regenerating the reference data (needs torch 2.13.0; never run by pytest)
# ------------------------------------------------------------------------------------------------


def _wrapped(text: str, indent: int) -> str:
    """A string literal of ``text`` split into implicitly concatenated pieces under 100 columns."""
    pad = " " * indent
    words = text.split()
    lines, line = [], ""
    for w in words:
        if line and len(pad) + len(line) + len(w) + 4 > 96:
            lines.append(line)
            line = ""
        line += w + " "
    lines.append(line)
    return "\n".join(f'{pad}"{piece}"' for piece in lines)


def _print_reference(emit: Callable[[str], None] = print) -> None:  # pragma: no cover
    import os

    import torch

    suffix = "" if os.environ.get("ATEN_CPU_CAPABILITY", "") != "default" else "_DEFAULT"
    emit(f"# {torch.__version__}, get_cpu_capability() = {torch.backends.cpu.get_cpu_capability()}")

    def lit(a: np.ndarray) -> str:
        return " ".join(repr(v) for v in a.ravel().tolist())

    if not suffix:
        torch.manual_seed(10)
        xy = [torch.randn(1), torch.randn(1)]
        torch.manual_seed(1)
        wb = [torch.randn(1, requires_grad=True), torch.randn(1, requires_grad=True)]
        img, vec = torch.rand(1, 3, 64, 64), torch.rand(1, 1000)
        xywb = np.concatenate([t.detach().numpy() for t in xy + wb])
        state = digest(torch.get_rng_state().numpy())
        emit("TUTORIAL = {")
        emit(
            "    # x, y after manual_seed(10); w, b after manual_seed(1);"
            " then rand(1, 3, 64, 64), rand(1, 1000)"
        )
        for key, arr in (("xywb", xywb), ("img_head", img.numpy().ravel()[:4])):
            emit(f'    "{key}": np.array(\n        [{", ".join(map(repr, arr.tolist()))}],')
            emit("        dtype=np.float32,\n    ),")
        emit(f'    "img_sha256": "{digest(img.numpy())}",')
        emit(f'    "vec_sha256": "{digest(vec.numpy())}",')
        emit(f'    "state_sha256": "{state}",')
        emit("}")
        torch.manual_seed(3)
        torch.randn(1)
        emit(f'STATE_AFTER_SEED3_RANDN1_SHA256 = "{digest(torch.get_rng_state().numpy())}"')
    emit(f"REFERENCE{suffix} = {{")
    for name, (seed, calls) in CASES.items():
        torch.manual_seed(seed)
        outs = [run_torch(c) for c in calls]
        if suffix and all(np.array_equal(o, r) for o, r in zip(outs, _avx2_outputs(name))):
            continue
        emit(f'    "{name}": [')
        for o in outs:
            emit(f'        ("{o.dtype}", (\n{_wrapped(lit(o), 12)}\n        )),')
        emit("    ],")
    emit("}")
    emit(f"HASHES{suffix} = {{")
    for name, (seed, call) in HASH_CASES.items():
        torch.manual_seed(seed)
        h = digest(run_torch(call))
        if not suffix or h != HASHES[name]:
            emit(f'    "{name}": "{h}",')
    emit("}")


def _avx2_outputs(name: str) -> list[np.ndarray]:  # pragma: no cover
    return [parse(t, d).astype(d) for d, t in REFERENCE[name]]


if __name__ == "__main__":  # pragma: no cover
    _print_reference()

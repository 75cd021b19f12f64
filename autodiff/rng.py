"""Random numbers that are bit-for-bit the ones PyTorch's CPU generator makes, in pure NumPy.

A PyTorch tutorial run with ``import autodiff as ad`` in place of ``import torch`` prints the same
numbers, because this module replays torch's own algorithms: the mt19937 engine with torch's
seeding, the bit recipes of ``uniform_``, both paths of ``normal_`` (the serial Box–Muller that
caches its second sample, and ``normal_fill`` on blocks of 16), ``random_(from, to)`` and
``randperm``.

Examples:
    >>> import numpy as np
    >>> from autodiff import rng
    >>> g = rng.Generator().manual_seed(10)
    >>> print(np.round(g.randn(1), 4), np.round(g.randn(1), 4))
    [-0.6014] [-1.0122]
    >>> g.manual_seed(1).randn(2, dtype=np.float32)
    array([0.66135216, 0.2669241 ], dtype=float32)

**Dtypes.** torch draws differently for float32 and float64: ``rand`` uses 24 bits of one 32-bit
draw for float32 and 53 bits of a 64-bit draw for float64, and ``normal_fill`` (16 values or more)
likewise. The ``dtype`` argument is the dtype of the result (float64 by default, like the rest of
the library); ``sample_dtype`` is the torch dtype whose stream is replayed and defaults to
``dtype``. To see the values of a torch tutorial, which uses torch's float32 default, pass
``sample_dtype=np.float32``: the float32 values are then returned widened to float64, exactly.
``randn`` of fewer than 16 values is computed in double precision in both dtypes, so it prints
the same either way.

**Which torch.** Reference values come from torch 2.13.0 (CPU wheel, Linux x86-64). Three things
depend on the kernel build torch dispatches to, which depends on the CPU (see
``torch.backends.cpu.get_cpu_capability()``); ``Generator(cpu_capability=...)`` picks the build
to replay and the default follows torch's own choice on this machine (``ATEN_CPU_CAPABILITY``
is honoured):

* ``"avx2"``: float32 ``normal_fill`` is the AVX2 kernel (``avx_mathfun.h`` with the fused
  multiply-adds GCC put in), replayed exactly; ``uniform_(a, b)`` and ``normal_(m, s)`` fuse
  ``x * scale + shift`` into one FMA.
* ``"avx512"``: as ``"avx2"``, but float32 ``normal_fill`` is the scalar loop over the C
  library's ``logf``/``cosf``/``sinf``, replayed with correctly rounded values. glibc 2.36's
  differ from those now and then, so about 1.4% of the outputs are one or two units in the last
  place off (at most 7e-7 for ``randn``). Not checked on AVX-512 hardware.
* ``"default"``: the scalar float32 loop as in ``"avx512"``, and no FMA contraction. Checked
  against torch run with ``ATEN_CPU_CAPABILITY=default``: bit for bit, except that loop.

Everything else (the engine, ``rand`` in both dtypes, the serial ``randn`` path, float64
``normal_fill``, ``randint``, ``randperm``, state bytes) is the same in every build and matches
bit for bit wherever NumPy's float64 ``log``/``sin``/``cos`` are the C library's (checked once at
run time; otherwise the C library is called through :mod:`math`, slower but exact).

Python's :mod:`random` and NumPy's global state are never used.
"""

from __future__ import annotations

import math
import operator
import os
import platform
import struct
from collections.abc import Callable, Sequence
from typing import Any, Literal, SupportsIndex, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_SEED",
    "STATE_SIZE",
    "CpuCapability",
    "Generator",
    "default_generator",
    "detect_cpu_capability",
    "get_rng_state",
    "initial_seed",
    "manual_seed",
    "normal",
    "normal_",
    "rand",
    "randint",
    "randn",
    "randperm",
    "seed",
    "set_rng_state",
    "uniform",
    "uniform_",
]

CpuCapability: TypeAlias = Literal["avx2", "avx512", "default"]
Size: TypeAlias = "SupportsIndex | Sequence[SupportsIndex]"
FloatDType: TypeAlias = "type[np.floating[Any]] | np.dtype[Any] | str"

DEFAULT_SEED = 67280421310721
"""Seed of a new :class:`Generator`, as for ``torch.Generator()``."""

STATE_SIZE = 5056
"""Bytes in :meth:`Generator.get_state`, the size of ``torch.get_rng_state()``."""

_LEGACY_STATE_SIZE = 5048
_N = 624
_M = 397
_MATRIX_A = np.uint32(0x9908B0DF)
_UMASK = np.uint32(0x80000000)
_LMASK = np.uint32(0x7FFFFFFF)
_U64_MASK = (1 << 64) - 1
_TWO_PI = 2.0 * math.pi
_STATE_HEAD = struct.Struct("<QiiQ")
_STATE_NORMAL = struct.Struct("<dddi")
_STATE_FLOAT = struct.Struct("<f?")

# ----------------------------------------------------------------------------------------------
# mt19937
# ----------------------------------------------------------------------------------------------


def _seed_state(seed: int) -> np.ndarray:
    """init_genrand of the low 32 bits of ``seed``: the 624 words of a fresh engine."""
    mt = [0] * _N
    x = seed & 0xFFFFFFFF
    mt[0] = x
    for j in range(1, _N):
        x = (1812433253 * (x ^ (x >> 30)) + j) & 0xFFFFFFFF
        mt[j] = x
    return np.array(mt, dtype=np.uint32)


def _words(value: int, k: int) -> int:
    """``value`` repeated in each of ``k`` 32-bit words of a Python int."""
    return value * (((1 << (32 * k)) - 1) // 0xFFFFFFFF)


_W = 32  # bits per word; a Python int holds word i at bits 32 i .. 32 i + 31
_UPPER = _words(0x80000000, _N - 1)
_LOWER = _words(0x7FFFFFFF, _N - 1)
_ONES = _words(1, _N - 1)
_FIRST = (1 << (_W * (_N - _M))) - 1
_ALL_BUT_LAST = (1 << (_W * (_N - 1))) - 1


def _advance(mt: np.ndarray, blocks: int) -> np.ndarray:
    """The next ``blocks`` states of the engine (torch's ``next_state`` applied ``blocks`` times),
    as ``uint32[624 * blocks]``.

    In torch's loop, new word i is ``t[i] ^ new[i - 227]`` (``^ old[i + 397]`` for i < 227) with
    ``t[i] = twist(old[i], old[i + 1])`` for i < 623, so with ``g = t ^ old[397:]`` the block is
    ``g ^ (g << 227 words) ^ (g << 454 words)``, then word 623 from the new word 0. Python ints
    serve as 19968-bit vectors: each operation below is one pass in C over the whole block.
    """
    x = int.from_bytes(mt.astype("<u4").tobytes(), "little")
    a = int(_MATRIX_A)
    out = []
    for _ in range(blocks):
        nxt = x >> _W
        y = (x & _UPPER) | (nxt & _LOWER)
        g = ((y >> 1) & _LOWER) ^ ((nxt & _ONES) * a) ^ ((x >> (_W * _M)) & _FIRST)
        new = (g ^ (g << (_W * (_N - _M))) ^ (g << (_W * 2 * (_N - _M)))) & _ALL_BUT_LAST
        first = new & 0xFFFFFFFF
        y = ((x >> (_W * (_N - 1))) & 0x80000000) | (first & 0x7FFFFFFF)
        last = ((new >> (_W * (_M - 1))) & 0xFFFFFFFF) ^ (y >> 1) ^ (a if first & 1 else 0)
        x = new | (last << (_W * (_N - 1)))
        out.append(x.to_bytes(4 * _N, "little"))
    return np.frombuffer(b"".join(out), dtype="<u4").astype(np.uint32)


def _temper(y: np.ndarray) -> np.ndarray:
    y = y ^ (y >> np.uint32(11))
    y ^= (y << np.uint32(7)) & np.uint32(0x9D2C5680)
    y ^= (y << np.uint32(15)) & np.uint32(0xEFC60000)
    y ^= y >> np.uint32(18)
    return y


# ----------------------------------------------------------------------------------------------
# Floating point: fused multiply-add and the C library's float64 functions
# ----------------------------------------------------------------------------------------------


def _two_sum(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _round_to_odd(s: np.ndarray, err: np.ndarray) -> np.ndarray:
    """Turn ``s = RN(x)`` with ``x = s + err`` into round-to-odd of ``x``."""
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s = s.copy()
        s[fix] = np.nextafter(s[fix], np.where(err[fix] > 0, np.inf, -np.inf))
    return s


def _fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """Correctly rounded float64 ``a * b + c``: Boldo and Melquiond's emulation by round-to-odd."""
    a, b, c = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c)))
    ph = a * b
    split = 134217729.0  # 2**27 + 1, Veltkamp's splitter
    ta = split * a
    ah = ta - (ta - a)
    al = a - ah
    tb = split * b
    bh = tb - (tb - b)
    bl = b - bh
    pl = ((ah * bh - ph) + ah * bl + al * bh) + al * bl
    uh, ul = _two_sum(c, ph)
    t, te = _two_sum(ul, pl)
    with np.errstate(invalid="ignore"):
        return uh + _round_to_odd(t, te)


def _fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """Correctly rounded float32 ``a * b + c`` of float32 operands, as one FMA instruction."""
    p = np.multiply(a, b, dtype=np.float64)  # exact: 24 + 24 bits fit in 53
    c64 = np.asarray(c, dtype=np.float64)
    s = p + c64
    out = s.astype(np.float32)
    # Rounding the double s to float is wrong only when s sits exactly halfway between two floats
    # (or is tiny) while the exact sum does not: redo those by round-to-odd.
    bits = s.view(np.uint64)
    bad = ((bits & np.uint64(0x1FFFFFFF)) == np.uint64(0x10000000)) | (np.abs(s) < 2.0**-125)
    if bad.any():
        pb, cb = np.broadcast_arrays(p, c64)
        s2, err = _two_sum(pb[bad], cb[bad])
        out[bad] = _round_to_odd(s2, err).astype(np.float32)
    return out


def _libm_loop(f: Callable[[float], float]) -> Callable[[np.ndarray], np.ndarray]:
    def apply(x: np.ndarray) -> np.ndarray:
        return np.fromiter(map(f, x.ravel().tolist()), np.float64, x.size).reshape(x.shape)

    return apply


def _pick_libm() -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """NumPy's float64 log/log1p/sin/cos where they equal the C library's (which torch calls and
    :mod:`math` wraps), else the C library through :mod:`math`. NumPy swaps in its own SIMD code on
    some CPUs (AVX-512); any such difference shows up on a probe of a few thousand arguments."""
    k = np.arange(1, 4097, dtype=np.float64)
    u = (k * 0.6180339887498949) % 1.0
    probes = {
        "log": (np.log, math.log, u),
        "log1p": (np.log1p, math.log1p, -u),
        "sin": (np.sin, math.sin, u * _TWO_PI),
        "cos": (np.cos, math.cos, u * _TWO_PI),
    }
    picked: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for name, (vec, scalar, x) in probes.items():
        exact = _libm_loop(scalar)
        picked[name] = vec if np.array_equal(vec(x), exact(x)) else exact
    return picked


_LIBM: dict[str, Callable[[np.ndarray], np.ndarray]] = {}


def _libm(name: str) -> Callable[[np.ndarray], np.ndarray]:
    if not _LIBM:
        _LIBM.update(_pick_libm())
    return _LIBM[name]


# ----------------------------------------------------------------------------------------------
# Box–Muller on blocks of 16 (torch's NormalFill16)
# ----------------------------------------------------------------------------------------------

_F = np.float32
# avx_mathfun.h constants, as stored in torch 2.13.0's AVX2 kernel
_SQRTHF = _F(0.707106781186547524)
_LOG_P = [_F(v) for v in (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1,
                          1.4249322787e-1, -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1,
                          3.3333331174e-1)]  # fmt: skip
_LOG_Q1 = _F(-2.12194440e-4)
_LOG_Q2 = _F(0.693359375)
_FOPI = _F(1.27323954473516)
_DP1 = _F(-0.78515625)
_DP2 = _F(-2.4187564849853515625e-4)
_DP3 = _F(-3.77489497744594108e-8)
_SIN_P = (_F(-1.9515295891e-4), _F(8.3321608736e-3), _F(-1.6666654611e-1))
_COS_P = (_F(2.443315711809948e-005), _F(-1.388731625493765e-003), _F(4.166664568298827e-002))
_TWO_PI_F = _F(_TWO_PI)


def _log256_ps(x: np.ndarray) -> np.ndarray:
    """``log256_ps`` of avx_mathfun.h, instruction for instruction as torch's AVX2 build runs it
    (GCC contracted its multiply-adds into FMAs). ``x`` is in [2**-24, 1]."""
    xi = x.view(np.uint32)
    e = ((xi >> np.uint32(23)).astype(np.int32) - 127).astype(_F) + _F(1)
    m = ((xi & np.uint32(0x807FFFFF)) | np.uint32(0x3F000000)).view(_F)
    small = m < _SQRTHF
    x = (m + _F(-1)) + np.where(small, m, _F(0))
    e = e - small.astype(_F)
    z = x * x
    y = _fma32(_LOG_P[0], x, _LOG_P[1])
    for p in _LOG_P[2:]:
        y = _fma32(y, x, p)
    y = _fma32(x * y, z, e * _LOG_Q1)
    y = y - z * _F(0.5)  # vfnmadd; z * 0.5 is exact so one rounding either way
    return _fma32(e, _LOG_Q2, x + y)


def _sincos256_ps(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``sincos256_ps`` of avx_mathfun.h as torch's AVX2 build runs it; ``theta`` >= 0."""
    j = ((theta * _FOPI).astype(np.int32) + 1) & ~1  # cvttps truncates
    y = j.astype(_F)
    sign_sin = ((j & 4) << 29).view(np.uint32) ^ (theta.view(np.uint32) & np.uint32(0x80000000))
    sign_cos = ((~(j - 2) & 4) << 29).view(np.uint32)
    poly = (j & 2) == 0
    x = _fma32(y, _DP1, theta)
    x = _fma32(_DP2, y, x)
    x = _fma32(y, _DP3, x)
    z = x * x
    yc = _fma32(_fma32(_COS_P[0], z, _COS_P[1]), z, _COS_P[2])
    yc = _fma32(z, z * yc, -(z * _F(0.5))) + _F(1)
    ys = _fma32(_fma32(_SIN_P[0], z, _SIN_P[1]), z, _SIN_P[2])
    ys = _fma32(x, z * ys, x)
    s = np.where(poly, ys, yc).view(np.uint32) ^ sign_sin
    c = np.where(poly, yc, ys).view(np.uint32) ^ sign_cos
    return s.view(_F), c.view(_F)


def _fill16_f32_avx2(d: np.ndarray, mean: np.float32, std: np.float32) -> np.ndarray:
    u1 = _F(1) - d[:, :8]
    radius = np.sqrt(_log256_ps(u1) * _F(-2))
    sin, cos = _sincos256_ps(_TWO_PI_F * d[:, 8:])
    return np.concatenate(
        [_fma32(radius * cos, std, mean), _fma32(radius * sin, std, mean)], axis=1
    )


def _fill16_f32_libm(d: np.ndarray, mean: np.float32, std: np.float32) -> np.ndarray:
    u1 = (_F(1) - d[:, :8]).astype(np.float64)
    radius = np.sqrt(_F(-2) * _libm("log")(u1).astype(_F))
    theta = (_TWO_PI * d[:, 8:].astype(np.float64)).astype(_F).astype(np.float64)
    cos = _libm("cos")(theta).astype(_F)
    sin = _libm("sin")(theta).astype(_F)
    return np.concatenate(
        [_fma32(radius * cos, std, mean), _fma32(radius * sin, std, mean)], axis=1
    )


def _fill16_f64(d: np.ndarray, mean: float, std: float) -> np.ndarray:
    radius = np.sqrt(-2.0 * _libm("log")(1.0 - d[:, :8]))
    theta = _TWO_PI * d[:, 8:]
    a = radius * _libm("cos")(theta)
    b = radius * _libm("sin")(theta)
    return np.concatenate([_affine64(a, std, mean, True), _affine64(b, std, mean, True)], axis=1)


def _affine64(x: np.ndarray, scale: float, shift: float, fused: bool) -> np.ndarray:
    if scale == 1.0:
        return x + shift
    if shift == 0.0 or not fused:
        return x * scale + shift
    return _fma64(x, scale, shift)


def _affine32(x: np.ndarray, scale: np.float32, shift: np.float32, fused: bool) -> np.ndarray:
    if scale == 1 or not fused:
        return (x * scale + shift).astype(_F)
    return _fma32(x, scale, shift)


# ----------------------------------------------------------------------------------------------
# Sizes, dtypes, the torch build
# ----------------------------------------------------------------------------------------------


def _parse_size(size: tuple[Any, ...]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (Sequence, np.ndarray)):
        size = tuple(size[0])
    shape = tuple(operator.index(s) for s in size)
    if any(s < 0 for s in shape):
        raise ValueError(f"negative dimension in size {shape}")
    return shape


def _float_dtype(dtype: Any) -> np.dtype[Any]:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise TypeError(f"expected float32 or float64, got {dt}")
    return dt


def _cpu_flags() -> set[str]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return set()
    return {name for name, present in features.items() if present}


def detect_cpu_capability() -> CpuCapability:
    """The kernel build torch 2.13.0 would dispatch to on this machine.

    ``ATEN_CPU_CAPABILITY`` wins when set, as in torch. Otherwise x86 CPUs with AVX-512 (F, VL,
    BW, DQ) get ``"avx512"``, with AVX2 and FMA ``"avx2"``, and older ones ``"default"``. Other
    architectures (Arm) get ``"avx512"``: their torch runs the same scalar loop, with fused
    multiply-adds (not verified against torch).

    >>> detect_cpu_capability() in ("avx2", "avx512", "default")
    True
    """
    env = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    if env in ("avx2", "avx512", "default"):
        return env  # type: ignore[return-value]
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return "avx512"
    flags = _cpu_flags()
    if {"AVX512F", "AVX512VL", "AVX512BW", "AVX512DQ", "FMA3"} <= flags:
        return "avx512"
    if {"AVX2", "FMA3"} <= flags:
        return "avx2"
    return "default"


def _normalize_seed(seed: Any) -> int:
    value = int(seed)
    if not -(1 << 63) <= value <= _U64_MASK:
        raise ValueError(f"seed must be in [-2**63, 2**64), got {value}")
    return value & _U64_MASK


# ----------------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------------


class Generator:
    """torch's CPU generator: an mt19937 engine plus the cached second Box–Muller sample.

    >>> g = Generator().manual_seed(1)
    >>> g.random(), g.random64()
    (1791095845, 18394812952917520268)
    >>> state = g.get_state()
    >>> a = g.rand(3)
    >>> b = g.set_state(state).rand(3)
    >>> bool((a == b).all())
    True

    Args:
        seed: the seed, as for :meth:`manual_seed` (default: :data:`DEFAULT_SEED`, like
            ``torch.Generator()``).
        cpu_capability: the torch kernel build to replay; see the module docstring. Default:
            :func:`detect_cpu_capability`.
    """

    cpu_capability: CpuCapability

    def __init__(self, seed: int = DEFAULT_SEED, cpu_capability: CpuCapability | None = None):
        self.cpu_capability = cpu_capability or detect_cpu_capability()
        self.manual_seed(seed)

    # -- seeding and state ---------------------------------------------------------------------

    def manual_seed(self, seed: int) -> Generator:
        """Seed the engine (init_genrand of the low 32 bits) and drop the cached normal samples.

        ``seed`` is any integer in [-2**63, 2**64); negative ones wrap to 64 bits, as in torch.
        Returns the generator.

        >>> Generator().manual_seed(-1).initial_seed() == 2**64 - 1
        True
        """
        self._seed = _normalize_seed(seed)
        self._mt = _seed_state(self._seed)
        self._left = 1
        self._next = 0
        self._seeded = True
        self._next_double_normal: float | None = None
        self._next_float_normal: float | None = None
        return self

    def seed(self) -> int:
        """Seed from the OS's entropy (not from :mod:`random`) and return that seed."""
        value = int.from_bytes(os.urandom(8), "little")
        self.manual_seed(value)
        return value

    def initial_seed(self) -> int:
        """The seed last given, as an unsigned 64-bit integer."""
        return self._seed

    def get_state(self) -> np.ndarray:
        """The whole state as ``uint8[5056]``, byte for byte ``torch.get_rng_state().numpy()``.

        >>> Generator().manual_seed(3).get_state().shape
        (5056,)
        """
        normal_valid = self._next_double_normal is not None
        float_valid = self._next_float_normal is not None
        raw = b"".join(
            [
                _STATE_HEAD.pack(self._seed, self._left, int(self._seeded), self._next),
                self._mt.astype("<u8").tobytes(),
                _STATE_NORMAL.pack(0.0, self._next_double_normal or 0.0, 0.0, int(normal_valid)),
                bytes(4),
                _STATE_FLOAT.pack(self._next_float_normal or 0.0, float_valid),
                bytes(3),
            ]
        )
        return np.frombuffer(raw, dtype=np.uint8).copy()

    def set_state(self, state: npt.ArrayLike) -> Generator:
        """Restore a state from :meth:`get_state` or ``torch.get_rng_state().numpy()``.

        Accepts torch's current (5056-byte) and legacy (5048-byte) layouts. Returns the generator.
        """
        raw = np.ascontiguousarray(state, dtype=np.uint8).tobytes()
        if len(raw) not in (STATE_SIZE, _LEGACY_STATE_SIZE):
            raise ValueError(
                f"expected an RNG state of {_LEGACY_STATE_SIZE} or {STATE_SIZE} bytes, "
                f"got {len(raw)}"
            )
        seed, left, seeded, nxt = _STATE_HEAD.unpack_from(raw, 0)
        words = np.frombuffer(raw, dtype="<u8", count=_N, offset=_STATE_HEAD.size)
        tail = _STATE_HEAD.size + 8 * _N
        _, normal_y, _, normal_valid = _STATE_NORMAL.unpack_from(raw, tail)
        if not (seeded and 0 < left <= _N and nxt <= _N):
            raise ValueError("invalid mt19937 state")
        float_sample, float_valid = (0.0, False)
        if len(raw) == STATE_SIZE:
            float_sample, float_valid = _STATE_FLOAT.unpack_from(raw, _LEGACY_STATE_SIZE)
        self._seed = seed
        self._left = left
        self._seeded = bool(seeded)
        self._next = nxt & 0xFFFFFFFF
        self._mt = (words & 0xFFFFFFFF).astype(np.uint32)
        self._next_double_normal = float(normal_y) if normal_valid else None
        self._next_float_normal = float(float_sample) if float_valid else None
        return self

    def clone(self) -> Generator:
        """An independent generator in the same state."""
        other = Generator.__new__(Generator)
        other.cpu_capability = self.cpu_capability
        return other.set_state(self.get_state())

    # -- raw draws -----------------------------------------------------------------------------

    def random_uint32(self, n: int) -> np.ndarray:
        """The next ``n`` 32-bit outputs of the engine, as ``uint32[n]``."""
        k = min(self._left - 1, n)
        head = self._mt[self._next : self._next + k]
        self._next += k
        self._left -= k
        rest = n - k
        if rest == 0:
            return _temper(head)
        blocks = -(-rest // _N)
        fresh = _advance(self._mt, blocks)
        self._mt = fresh[-_N:].copy()
        used = rest - (blocks - 1) * _N  # taken from the last block: torch's left/next after that
        self._next = used
        self._left = _N + 1 - used
        return _temper(np.concatenate([head, fresh[:rest]]))

    def random_uint64(self, n: int) -> np.ndarray:
        """The next ``n`` 64-bit draws (two 32-bit outputs each, the first in the high half)."""
        u = self.random_uint32(2 * n).astype(np.uint64)
        return (u[0::2] << np.uint64(32)) | u[1::2]

    def random(self) -> int:
        """One 32-bit output, like ``CPUGeneratorImpl::random()``."""
        return int(self.random_uint32(1)[0])

    def random64(self) -> int:
        """One 64-bit draw, like ``CPUGeneratorImpl::random64()``."""
        return int(self.random_uint64(1)[0])

    def _unit(self, n: int, dt: np.dtype[Any]) -> np.ndarray:
        """torch's uniform_real_distribution(0, 1): 24 bits of a 32-bit draw for float32, 53 bits
        of a 64-bit draw for float64. Exact, so the same in every build."""
        if dt == np.float32:
            bits = self.random_uint32(n) & np.uint32(0xFFFFFF)
            return bits.astype(np.float32) * np.float32(2.0**-24)
        bits = self.random_uint64(n) & np.uint64((1 << 53) - 1)
        return bits.astype(np.float64) * 2.0**-53

    # -- samplers over a flat buffer -----------------------------------------------------------

    def _uniform_flat(self, n: int, low: float, high: float, dt: np.dtype[Any]) -> np.ndarray:
        if not low <= high:
            raise ValueError(f"uniform expects low <= high, got low={low}, high={high}")
        lo = dt.type(low)
        hi = dt.type(high)
        width = hi - lo
        if not np.isfinite(width):
            raise ValueError(f"uniform expects high - low to be finite, got {low}..{high}")
        x = self._unit(n, dt)
        if lo == 0 and hi == 1:
            return x
        fused = self.cpu_capability != "default"
        if dt == np.float32:
            v = _affine32(x, width, lo, fused)
        else:
            v = _fma64(x, width, lo) if fused and lo != 0 else x * width + lo
        v[v == hi] = lo  # torch's clamp of a value rounded up to the upper bound
        return v

    def _normal_serial(self, n: int, mean: float, std: float) -> np.ndarray:
        """torch's normal_distribution<double>, one value at a time: Box–Muller in double that
        returns r*cos and caches r*sin for the next value."""
        vals = np.empty(n, dtype=np.float64)
        start = 0
        if n and self._next_double_normal is not None:
            vals[0] = self._next_double_normal
            self._next_double_normal = None
            start = 1
        pairs = (n - start + 1) // 2
        if pairs:
            u = self._unit(2 * pairs, np.dtype(np.float64))
            r = np.sqrt(-2.0 * _libm("log1p")(-u[1::2]))
            theta = _TWO_PI * u[0::2]
            both = np.empty(2 * pairs, dtype=np.float64)
            both[0::2] = r * _libm("cos")(theta)
            both[1::2] = r * _libm("sin")(theta)
            vals[start:] = both[: n - start]
            if (n - start) % 2:
                self._next_double_normal = float(both[-1])
        return _affine64(vals, std, mean, self.cpu_capability != "default")

    def _normal_fill(self, n: int, mean: float, std: float, dt: np.dtype[Any]) -> np.ndarray:
        """torch's normal_fill: all uniforms first, Box–Muller on each block of 16 (pairing j with
        j + 8), and when n % 16 != 0 a fresh block of 16 uniforms for the last 16 places."""
        data = self._unit(n, dt)
        tail = self._unit(16, dt) if n % 16 else None
        full = n // 16 * 16
        if dt == np.float32:
            m, s = np.float32(mean), np.float32(std)
            fill = _fill16_f32_avx2 if self.cpu_capability == "avx2" else _fill16_f32_libm
        else:
            m, s = float(mean), float(std)
            fill = _fill16_f64
        data[:full] = fill(data[:full].reshape(-1, 16), m, s).ravel()
        if tail is not None:
            data[n - 16 :] = fill(tail.reshape(1, 16), m, s).ravel()
        return data

    def _normal_flat(
        self, n: int, mean: float, std: float, dt: np.dtype[Any], contiguous: bool = True
    ) -> np.ndarray:
        if not std >= 0.0:
            raise ValueError(f"normal expects std >= 0.0, got {std}")
        if n >= 16 and contiguous:
            return self._normal_fill(n, mean, std, dt)
        return self._normal_serial(n, mean, std).astype(dt)

    # -- public samplers -----------------------------------------------------------------------

    def rand(
        self, *size: Any, dtype: FloatDType = np.float64, sample_dtype: FloatDType | None = None
    ) -> np.ndarray:
        """Uniform on [0, 1), like ``torch.rand(*size, dtype=sample_dtype)``.

        ``size`` is ints or one sequence. The values are those of torch's ``sample_dtype``
        (default: ``dtype``), returned as ``dtype``.

        >>> Generator().manual_seed(0).rand(2, 2, dtype=np.float32)
        array([[0.4962566 , 0.7682218 ],
               [0.08847743, 0.13203049]], dtype=float32)
        """
        return self.uniform(0.0, 1.0, _parse_size(size), dtype=dtype, sample_dtype=sample_dtype)

    def uniform(
        self,
        low: float = 0.0,
        high: float = 1.0,
        size: Size = (),
        *,
        dtype: FloatDType = np.float64,
        sample_dtype: FloatDType | None = None,
    ) -> np.ndarray:
        """Uniform on [low, high), like ``torch.empty(size).uniform_(low, high)``.

        >>> Generator().manual_seed(0).uniform(-1.0, 1.0, (3,), dtype=np.float32)
        array([-0.00748682,  0.5364436 , -0.82304513], dtype=float32)
        """
        shape = _parse_size((size,))
        dt = _float_dtype(dtype)
        st = _float_dtype(sample_dtype if sample_dtype is not None else dt)
        flat = self._uniform_flat(math.prod(shape), low, high, st)
        return flat.reshape(shape).astype(dt, copy=False)

    def randn(
        self, *size: Any, dtype: FloatDType = np.float64, sample_dtype: FloatDType | None = None
    ) -> np.ndarray:
        """Standard normal, like ``torch.randn(*size, dtype=sample_dtype)``.

        >>> g = Generator().manual_seed(10)
        >>> print(round(float(g.randn(1)[0]), 4), round(float(g.randn(1)[0]), 4))
        -0.6014 -1.0122
        """
        return self.normal(0.0, 1.0, _parse_size(size), dtype=dtype, sample_dtype=sample_dtype)

    def normal(
        self,
        mean: float = 0.0,
        std: float = 1.0,
        size: Size = (),
        *,
        dtype: FloatDType = np.float64,
        sample_dtype: FloatDType | None = None,
    ) -> np.ndarray:
        """Normal with scalar ``mean`` and ``std``, like ``torch.empty(size).normal_(mean, std)``.

        >>> Generator().manual_seed(0).normal(2.0, 0.5, (2,))
        array([2.77049805, 1.85328555])
        """
        shape = _parse_size((size,))
        dt = _float_dtype(dtype)
        st = _float_dtype(sample_dtype if sample_dtype is not None else dt)
        flat = self._normal_flat(math.prod(shape), mean, std, st)
        return flat.reshape(shape).astype(dt, copy=False)

    def uniform_(self, array: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
        """Fill a float32/float64 array in place, like ``tensor.uniform_(low, high)``.

        The array's dtype picks torch's stream. A non-contiguous array is filled in memory order,
        as torch's TensorIterator does. Returns ``array``.

        >>> w = np.empty((2, 3), dtype=np.float32)
        >>> _ = Generator().manual_seed(0).uniform_(w, -0.5, 0.5)
        >>> w.round(4)
        array([[-0.0037,  0.2682, -0.4115],
               [-0.368 , -0.1926,  0.1341]], dtype=float32)
        """
        view = _memory_order(array)
        dt = _float_dtype(array.dtype)
        view[...] = self._uniform_flat(view.size, low, high, dt).reshape(view.shape)
        return array

    def normal_(self, array: np.ndarray, mean: float = 0.0, std: float = 1.0) -> np.ndarray:
        """Fill a float32/float64 array in place, like ``tensor.normal_(mean, std)``.

        A C-contiguous array of 16 or more values takes torch's ``normal_fill`` path; others take
        the serial path, in memory order. Returns ``array``.
        """
        view = _memory_order(array)
        dt = _float_dtype(array.dtype)
        contiguous = bool(array.flags.c_contiguous)
        flat = self._normal_flat(view.size, mean, std, dt, contiguous)
        view[...] = flat.reshape(view.shape)
        return array

    def randint(
        self,
        low: int,
        high: int | Size | None = None,
        size: Size | None = None,
        *,
        dtype: npt.DTypeLike = np.int64,
    ) -> np.ndarray:
        """Integers in [low, high), like ``torch.randint(low, high, size)`` (torch's
        ``random_(from, to)``: ``draw % (high - low) + low`` with a 32-bit draw when the range is
        below 2**28, else a 64-bit one).

        Also ``randint(high, size)``, as in torch.

        >>> Generator().manual_seed(0).randint(0, 10, (5,))
        array([4, 9, 3, 0, 3])
        """
        if size is None:
            if not isinstance(high, (Sequence, np.ndarray)):
                raise TypeError("randint needs a size")
            low, high, size = 0, operator.index(low), high
        elif high is None:
            low, high = 0, low
        lo = operator.index(low)
        hi = operator.index(high)  # type: ignore[arg-type]
        if not lo < hi:
            raise ValueError(f"randint expects low < high, got low={lo}, high={hi}")
        shape = _parse_size((size,))
        n = math.prod(shape)
        span = hi - lo
        if span >= 1 << 28:
            draws = self.random_uint64(n)
        else:
            draws = self.random_uint32(n).astype(np.uint64)
        vals = (draws % np.uint64(span & _U64_MASK) + np.uint64(lo & _U64_MASK)).view(np.int64)
        return vals.reshape(shape).astype(dtype, copy=False)

    def randperm(self, n: int, *, dtype: npt.DTypeLike = np.int64) -> np.ndarray:
        """A random permutation of ``range(n)``, like ``torch.randperm(n)``.

        torch's CPU algorithm: for n < 2**32 / 20 a forward Fisher–Yates shuffle that swaps place
        i with place ``i + random() % (n - i)``; above, the inside-out variant on 64-bit draws.

        >>> Generator().manual_seed(0).randperm(6)
        array([2, 5, 3, 0, 1, 4])
        """
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"randperm expects n >= 0, got {n}")
        if n < 0xFFFFFFFF // 20:
            offsets = self.random_uint32(max(n - 1, 0)).astype(np.int64)
            offsets %= np.arange(n, 1, -1, dtype=np.int64)
            perm = list(range(n))
            for i, z in enumerate(offsets.tolist()):
                j = i + z
                perm[i], perm[j] = perm[j], perm[i]
        else:  # pragma: no cover - needs more than 200 million entries
            draws = self.random_uint64(n)
            perm = [0] * n
            for i, d in enumerate(draws.tolist()):
                z = d % (i + 1)
                perm[i] = perm[z]
                perm[z] = i
        return np.array(perm, dtype=dtype)

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed}, cpu_capability={self.cpu_capability!r})"


def _memory_order(array: np.ndarray) -> np.ndarray:
    """A view of ``array`` whose C order is its memory order (torch's TensorIterator order)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected a NumPy array, got {type(array).__name__}")
    if not array.flags.writeable:
        raise ValueError("array is read-only")
    if array.flags.c_contiguous or array.ndim < 2:
        return array
    perm = sorted(range(array.ndim), key=lambda d: -abs(array.strides[d]))
    return array.transpose(perm)


# ----------------------------------------------------------------------------------------------
# The default generator and module functions
# ----------------------------------------------------------------------------------------------

default_generator = Generator(int.from_bytes(os.urandom(8), "little"))
"""The generator the module functions use; seeded from the OS at import, like torch's."""


def _gen(generator: Generator | None) -> Generator:
    return default_generator if generator is None else generator


def manual_seed(seed: int) -> Generator:
    """Seed :data:`default_generator`, like ``torch.manual_seed``; returns it.

    >>> _ = manual_seed(1)
    >>> randn(2, sample_dtype=np.float32).round(4)
    array([0.6614, 0.2669])
    """
    return default_generator.manual_seed(seed)


def seed() -> int:
    """Seed :data:`default_generator` from the OS's entropy; returns the seed."""
    return default_generator.seed()


def initial_seed() -> int:
    """The seed of :data:`default_generator`, like ``torch.initial_seed()``."""
    return default_generator.initial_seed()


def get_rng_state() -> np.ndarray:
    """State of :data:`default_generator`, the bytes of ``torch.get_rng_state()``."""
    return default_generator.get_state()


def set_rng_state(state: npt.ArrayLike) -> None:
    """Restore :data:`default_generator`, like ``torch.set_rng_state``."""
    default_generator.set_state(state)


def rand(
    *size: Any,
    dtype: FloatDType = np.float64,
    sample_dtype: FloatDType | None = None,
    generator: Generator | None = None,
) -> np.ndarray:
    """Uniform on [0, 1), like ``torch.rand``; see :meth:`Generator.rand`.

    >>> _ = manual_seed(0)
    >>> rand(3, sample_dtype=np.float32).round(4)
    array([0.4963, 0.7682, 0.0885])
    """
    return _gen(generator).rand(*size, dtype=dtype, sample_dtype=sample_dtype)


def randn(
    *size: Any,
    dtype: FloatDType = np.float64,
    sample_dtype: FloatDType | None = None,
    generator: Generator | None = None,
) -> np.ndarray:
    """Standard normal, like ``torch.randn``; see :meth:`Generator.randn`.

    >>> _ = manual_seed(10)
    >>> randn(1).round(4), randn(1).round(4)
    (array([-0.6014]), array([-1.0122]))
    """
    return _gen(generator).randn(*size, dtype=dtype, sample_dtype=sample_dtype)


def uniform(
    low: float = 0.0,
    high: float = 1.0,
    size: Size = (),
    *,
    dtype: FloatDType = np.float64,
    sample_dtype: FloatDType | None = None,
    generator: Generator | None = None,
) -> np.ndarray:
    """Uniform on [low, high); see :meth:`Generator.uniform`."""
    return _gen(generator).uniform(low, high, size, dtype=dtype, sample_dtype=sample_dtype)


def normal(
    mean: float = 0.0,
    std: float = 1.0,
    size: Size = (),
    *,
    dtype: FloatDType = np.float64,
    sample_dtype: FloatDType | None = None,
    generator: Generator | None = None,
) -> np.ndarray:
    """Normal with scalar mean and std, like ``torch.normal(mean, std, size)``."""
    return _gen(generator).normal(mean, std, size, dtype=dtype, sample_dtype=sample_dtype)


def uniform_(
    array: np.ndarray, low: float = 0.0, high: float = 1.0, *, generator: Generator | None = None
) -> np.ndarray:
    """In place, like ``tensor.uniform_(low, high)``; see :meth:`Generator.uniform_`."""
    return _gen(generator).uniform_(array, low, high)


def normal_(
    array: np.ndarray, mean: float = 0.0, std: float = 1.0, *, generator: Generator | None = None
) -> np.ndarray:
    """In place, like ``tensor.normal_(mean, std)``; see :meth:`Generator.normal_`."""
    return _gen(generator).normal_(array, mean, std)


def randint(
    low: int,
    high: int | Size | None = None,
    size: Size | None = None,
    *,
    dtype: npt.DTypeLike = np.int64,
    generator: Generator | None = None,
) -> np.ndarray:
    """Integers in [low, high), like ``torch.randint``; see :meth:`Generator.randint`.

    >>> _ = manual_seed(0)
    >>> randint(10, (4,))
    array([4, 9, 3, 0])
    """
    return _gen(generator).randint(low, high, size, dtype=dtype)


def randperm(
    n: int, *, dtype: npt.DTypeLike = np.int64, generator: Generator | None = None
) -> np.ndarray:
    """A random permutation of ``range(n)``, like ``torch.randperm``."""
    return _gen(generator).randperm(n, dtype=dtype)

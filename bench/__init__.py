"""autodiff's benchmark suite: autodiff beside HIPS autograd, PyTorch and JAX, in one run.

Run it from the repository root with ``python -m bench`` (``--help`` for the options); see
``bench/README.md``. This package imports nothing heavy at import time, so that ``__main__`` can
pin the BLAS threads before NumPy loads.
"""

"""Si la red cambia a z = w·x² + b (document 2, closing paragraph).

Nothing is derived by hand: the same ``loss.backward()`` gives ∂loss/∂w = 2(z − y)·x². (The
note's introduction writes 2(y − z)·x²; for loss = (y − z)² the derivative with respect to w is
2(y − z)·(−x²) = 2(z − y)·x².)
"""

import autodiff as ad

seed = 1
ad.manual_seed(10 * seed)
x = ad.randn(1)
y = ad.randn(1)
ad.manual_seed(seed)
w = ad.randn(1, requires_grad=True)
b = ad.randn(1, requires_grad=True)

z = w * x**2 + b
loss = ad.nn.functional.mse_loss(z, y, reduction="mean")
print(f"z: {z}")
print(f"Loss: {loss}")

loss.backward()
print(f"gradiente de w: {w.grad}")
print(f"gradiente de b: {b.grad}")

# the formulas, evaluated with the same numbers
with ad.no_grad():
    print(f"2(z - y)·x²: {2 * (z - y) * x**2}")
    print(f"2(z - y):    {2 * (z - y)}")

"""Autograd en la red z = w·x + b con loss = mse_loss(z, y) (document 2).

The same seeds give the same numbers as the note. The note's hand computation of
∂loss/∂w = −1.4793 is an arithmetic slip: 2·(−0.1309 − (−1.0122))·(−0.6014) = 2·0.8813·(−0.6014)
= −1.0600 with its rounded values, and autograd's −1.0601 with full precision.
"""

import autodiff as ad

seed = 1

ad.manual_seed(10 * seed)

x = ad.randn(1)  # input tensor
y = ad.randn(1)  # expected output

print(f"x: {x}")
print(f"y: {y}")

ad.manual_seed(seed)
w = ad.randn(1, requires_grad=True)
b = ad.randn(1, requires_grad=True)

print(f"w: {w}")
print(f"b: {b}")

z = ad.matmul(x, w) + b
loss = ad.nn.functional.mse_loss(z, y, reduction="mean")

print(f"z: {z}")
print(f"Loss: {loss}")

loss.backward()
print(f"gradiente de w: {w.grad}")
print(f"gradiente de b: {b.grad}")

# A mano, con los valores redondeados a 4 decimales como en la nota
xr, yr, wr, br = -0.6014, -1.0122, 0.6614, 0.2669
zr = round(wr * xr + br, 4)
print(f"z a mano: {wr}·({xr}) + {br} = {zr:.4f}")
print(f"loss a mano: ({zr}-({yr}))² = {(zr - yr) ** 2:.4f}")
print(f"∂loss/∂w a mano: 2·({zr}-({yr}))·({xr}) = {2 * (zr - yr) * xr:.4f}"
      "  (la nota escribe -1.4793: un error aritmético)")  # fmt: skip
print(f"∂loss/∂b a mano: 2·({zr}-({yr})) = {2 * (zr - yr):.4f}")

"""Diferenciación en Autograd: Q = 3a³ − b² (document 1, cells 7-10).

``Q`` is a vector, so ``Q.backward`` needs the external gradient dQ/dQ = [1, 1]: autograd
computes the vector-Jacobian product Jᵀ·v.
"""

import autodiff as ad

a = ad.tensor([2.0, 3.0], requires_grad=True)
b = ad.tensor([6.0, 4.0], requires_grad=True)

Q = 3 * a**3 - b**2

external_grad = ad.tensor([1.0, 1.0])
Q.backward(gradient=external_grad)

# comprobar si los gradientes recopilados son correctos
print(9 * a**2 == a.grad)
print(-2 * b == b.grad)

# De manera equivalente: Q.sum().backward() (the gradients accumulate, so start from fresh leaves)
a2 = ad.tensor([2.0, 3.0], requires_grad=True)
b2 = ad.tensor([6.0, 4.0], requires_grad=True)
(3 * a2**3 - b2**2).sum().backward()
print(a2.grad, b2.grad)

"""Los gradientes se acumulan en .grad (document 1, "cálculo vectorial", the example cell).

Every ``backward()`` adds into ``weights.grad``: 3, then 6, then 9. ``weights.grad.zero_()``
(or ``optimizer.zero_grad()``) resets it between steps.
"""

import autodiff as ad

weights = ad.ones(4, requires_grad=True)

for _epoch in range(3):
    model_output = (weights * 3).sum()

    model_output.backward()

    print(weights.grad)

    # podemos reiniciar los pesos con
    # weights.grad.zero_()

weights.grad.zero_()
print(weights.grad)

# con zero_() en cada iteración, el gradiente no se acumula
for _epoch in range(3):
    (weights * 3).sum().backward()
    print(weights.grad)
    weights.grad.zero_()

"""The spec's Sequential is torch's own ``nn.Sequential`` of stock modules (``nn.Linear``,
``nn.ReLU`` …, each spec Dense an ``nn.Linear`` and its activation module).

``backward`` is not written here: ``loss.backward()`` runs autograd through the
recorded graph and leaves dL/dW in each ``nn.Linear's ``weight.grad```` (shape (out, in), the
transpose of the spec's ``grads``), accumulating until ``zero_grad()``.
"""

from torch import nn

Sequential = nn.Sequential

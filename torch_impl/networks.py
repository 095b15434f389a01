"""The spec's Sequential is torch's own ``nn.Sequential`` holding ``torch_impl.layers.Dense``.

``backward`` is not written here: ``loss.backward()`` runs autograd through the
recorded graph and leaves dL/dW in each ``linear.weight.grad`` (shape (out, in), the
transpose of the spec's ``grads``), accumulating until ``zero_grad()``.
"""

from torch import nn

Sequential = nn.Sequential

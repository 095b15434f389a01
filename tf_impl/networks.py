"""The spec's Sequential is Keras's own ``keras.Sequential``.

There is no ``backward``: inside ``with tf.GradientTape() as tape:`` the forward pass is
recorded, and ``tape.gradient(loss, model.trainable_variables)`` returns
[kernel, bias, kernel, bias, …] gradients in layer order, kernels (in, out) like the spec.
"""

import keras

Sequential = keras.Sequential

"""Models as pure functions: ``init(key) -> params`` and ``apply(params, x) -> logits``.

Params are plain pytrees (nested dicts of arrays), so a whole training run can be
``jax.vmap``-ed over learning rates and seeds and the params stacked along a config axis.

* ``logreg``: the article's logistic regression ``p = sigmoid(b0 + x . b)``, one weight per
  pixel. For K classes, K weight vectors (one "filter" each) and a softmax.
* ``mlp``: a multilayer perceptron, hidden sizes as a list, relu/tanh/gelu.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from mlx.choices import MODELS, PRECISIONS  # noqa: F401  (re-exported: mlx.models.MODELS)

ACTIVATIONS = {"relu": nn.relu, "tanh": jnp.tanh, "gelu": nn.gelu}  # keys: mlx.choices.ACTIVATIONS


class Model(NamedTuple):
    """A model as two pure functions over a plain pytree of params.

    init: (key) -> params
    apply: (params, x: float32[n, d]) -> float32[n, k_out] logits
      (k_out = 1 for a binary task: the single logit z = b0 + x . b; k_out = K otherwise).
    """

    name: str
    init: Callable
    apply: Callable


def _compute_dtype(precision: str):
    return jnp.bfloat16 if precision == "bfloat16" else jnp.float32


def logreg(*, d: int, k_out: int, precision: str = "float32", init_scale: float = 0.01) -> Model:
    """Logistic regression, exactly as the article writes it.

    params = {"b0": float32[k_out], "b": float32[d, k_out]}; logit z = b0 + x . b.
    Binary: k_out = 1 and p = sigmoid(z). K classes: k_out = K, softmax over the K logits.
    Initialisation: b ~ N(0, init_scale^2) (the article: "each parameter starts with a random
    value"; the problem is convex, so the start only changes the path, not the optimum), b0 = 0.
    precision="bfloat16" does the matmul in bf16 with f32 accumulation; params stay f32.
    """
    dt = _compute_dtype(precision)

    def init(key):
        return {"b0": jnp.zeros((k_out,), jnp.float32),
                "b": init_scale * jax.random.normal(key, (d, k_out), jnp.float32)}

    def apply(params, x):
        z = jnp.dot(x.astype(dt), params["b"].astype(dt), preferred_element_type=jnp.float32)
        return z + params["b0"]

    return Model("logreg", init, apply)


class MLPModule(nn.Module):
    """Dense -> activation, repeated, then a Dense readout.

    Flax's role: it owns the layer definitions, their initialisers and the named parameter
    tree (``hidden_0``, ``hidden_1``, ..., ``out``), which would otherwise be hand-written.
    We only use ``init`` and ``apply``: the params stay a plain dict (no TrainState, no
    mutable collections), so ``jax.vmap`` over configs stacks them like any other pytree.
    """

    hidden: Sequence[int]
    k_out: int
    activation: str = "relu"
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        # He-normal (truncated) for relu/gelu, LeCun-normal (truncated) for tanh; biases zero.
        scale = 1.0 if self.activation == "tanh" else 2.0
        kinit = nn.initializers.variance_scaling(scale, "fan_in", "truncated_normal")
        for i, h in enumerate(self.hidden):
            x = act(nn.Dense(h, kernel_init=kinit, dtype=self.dtype, param_dtype=jnp.float32,
                             name=f"hidden_{i}")(x))
        out = nn.Dense(self.k_out, kernel_init=nn.initializers.variance_scaling(
            1.0, "fan_in", "truncated_normal"), dtype=self.dtype, param_dtype=jnp.float32,
            name="out")(x)
        return out.astype(jnp.float32)


def mlp(*, d: int, k_out: int, hidden: Sequence[int] = (256,), activation: str = "relu",
        precision: str = "float32") -> Model:
    """Multilayer perceptron d -> hidden[0] -> ... -> k_out.

    Initialisation: kernels from a truncated normal with variance 2/fan_in (He) for relu and
    gelu, 1/fan_in (LeCun) for tanh; the readout layer 1/fan_in; all biases zero.
    params = {"hidden_0": {"kernel": float32[d, h0], "bias": float32[h0]}, ..., "out": {...}}.
    """
    module = MLPModule(tuple(int(h) for h in hidden), k_out, activation, _compute_dtype(precision))

    def init(key):
        return module.init(key, jnp.zeros((1, d), jnp.float32))["params"]

    def apply(params, x):
        return module.apply({"params": params}, x)

    return Model("mlp", init, apply)


def make_model(name: str, *, d: int, k_out: int, hidden: Sequence[int] = (256,),
               activation: str = "relu", precision: str = "float32") -> Model:
    """The model called ``name`` ('logreg' or 'mlp') for inputs of size d and k_out logits."""
    if name == "logreg":
        return logreg(d=d, k_out=k_out, precision=precision)
    if name == "mlp":
        return mlp(d=d, k_out=k_out, hidden=hidden, activation=activation, precision=precision)
    from mlx.errors import ConfigError
    raise ConfigError(f"unknown model {name!r}; allowed: {', '.join(MODELS)}")


def filters(params, image_shape=(28, 28)):
    """Logistic-regression weights as images: float32[k_out, H, W] (one filter per class)."""
    b = params["b"]
    return jnp.moveaxis(b, -1, -2).reshape(b.shape[:-2] + (b.shape[-1],) + tuple(image_shape))


def first_layer(params):
    """MLP first-layer kernel and each hidden unit's outgoing weight norm.

    Returns (w1: float32[d, h0], importance: float32[h0]).
    """
    w1 = params["hidden_0"]["kernel"]
    nxt = params["hidden_1" if "hidden_1" in params else "out"]["kernel"]
    return w1, jnp.linalg.norm(nxt, axis=-1)


def count_params(params) -> int:
    return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))

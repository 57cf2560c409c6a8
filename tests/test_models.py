import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mlx.errors import ConfigError
from mlx.models import count_params, filters, first_layer, make_model


@pytest.mark.parametrize("k_out", [1, 10])
def test_logreg_is_the_article_formula(k_out):
    m = make_model("logreg", d=784, k_out=k_out)
    p = m.init(jax.random.key(0))
    assert p["b"].shape == (784, k_out) and p["b0"].shape == (k_out,)
    x = jax.random.uniform(jax.random.key(1), (5, 784))
    p = {"b0": jnp.full((k_out,), 0.3), "b": p["b"]}
    np.testing.assert_allclose(m.apply(p, x), 0.3 + x @ p["b"], rtol=1e-5, atol=1e-5)
    assert filters(p).shape == (k_out, 28, 28)
    # filter image k is column k of b, read row-major
    np.testing.assert_array_equal(np.asarray(filters(p))[0].ravel(), np.asarray(p["b"])[:, 0])


@pytest.mark.parametrize("hidden,act", [((256,), "relu"), ((512, 256), "tanh"), ((32,), "gelu")])
def test_mlp_shapes_and_plain_pytree(hidden, act):
    m = make_model("mlp", d=784, k_out=10, hidden=hidden, activation=act)
    p = m.init(jax.random.key(0))
    assert isinstance(p, dict) and set(p) == {f"hidden_{i}" for i in range(len(hidden))} | {"out"}
    sizes = (784,) + hidden + (10,)
    assert count_params(p) == sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    assert m.apply(p, jnp.zeros((3, 784))).shape == (3, 10)
    w1, imp = first_layer(p)
    assert w1.shape == (784, hidden[0]) and imp.shape == (hidden[0],)


def test_mlp_init_is_he_normal_and_vmappable():
    m = make_model("mlp", d=784, k_out=1, hidden=(256,))
    ps = jax.vmap(m.init)(jax.random.split(jax.random.key(0), 4))
    assert ps["hidden_0"]["kernel"].shape == (4, 784, 256)
    std = float(ps["hidden_0"]["kernel"].std())
    # truncated normal with variance 2/fan_in: std close to sqrt(2/784) * 0.88
    assert 0.8 * np.sqrt(2 / 784) * 0.88 < std < 1.2 * np.sqrt(2 / 784) * 0.88
    assert not np.allclose(ps["hidden_0"]["kernel"][0], ps["hidden_0"]["kernel"][1])


def test_bfloat16_precision_keeps_float32_params_and_close_outputs():
    m32 = make_model("mlp", d=784, k_out=10, hidden=(64,))
    m16 = make_model("mlp", d=784, k_out=10, hidden=(64,), precision="bfloat16")
    p = m32.init(jax.random.key(0))
    assert jax.tree_util.tree_leaves(m16.init(jax.random.key(0)))[0].dtype == jnp.float32
    x = jax.random.uniform(jax.random.key(1), (8, 784))
    y32, y16 = m32.apply(p, x), m16.apply(p, x)
    assert y16.dtype == jnp.float32
    np.testing.assert_allclose(y32, y16, atol=0.1)


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown model 'cnn'; allowed: logreg, mlp"):
        make_model("cnn", d=784, k_out=1)

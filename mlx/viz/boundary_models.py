"""The models the sweep's decision-boundary figures evaluate, from what the sweep holds: the
PCA plane of a task's training pixels (:func:`pca_plane`), p(positive | x) of a best config's
params (:func:`proba_of`), and the one training the pictures add: the best config's model
trained on the two principal components only (:func:`train_2d`, :func:`train_plane_model`),
with a cheap compile. One compiled function per architecture is kept in ``_PROBA``.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

def pca_plane(td) -> tuple[np.ndarray, np.ndarray]:
    """(mean float32[d], components float32[2, d]) of a task's training pixels in [0, 1]: the
    plane of ``mlx train``'s decision_boundary.png (the same at most PCA_FIT_MAX examples, seed 0,
    the same sign rule as :func:`mlx.styles.pca_fit`), its two leading eigenvectors found by
    Lanczos (scipy eigsh, fixed start vector: deterministic) instead of a full 784 x 784
    eigendecomposition: the same plane (to about 1e-8) at a fraction of the cost."""
    from scipy.sparse.linalg import eigsh

    from mlx.viz.run_figures import PCA_FIT_MAX
    rng = np.random.default_rng(0)
    sub = np.sort(rng.choice(len(td.x_train), min(PCA_FIT_MAX, len(td.x_train)), replace=False))
    x = td.x_train[sub].astype(np.float32) / 255.0
    mean = x.mean(axis=0, dtype=np.float64)
    d = x.shape[1]
    if x.shape[0] <= d or d < 4:  # few examples or features: the exact small computation
        from mlx.styles import pca_fit
        return pca_fit(x, 2)
    cov = np.zeros((d, d))
    for start in range(0, x.shape[0], 8192):
        c = x[start:start + 8192].astype(np.float64) - mean
        cov += c.T @ c
    _, vecs = eigsh(cov, k=2, which="LA", v0=np.ones(d), tol=0)
    comps = np.ascontiguousarray(vecs[:, ::-1].T)
    for row in comps:
        if row[np.argmax(np.abs(row))] < 0:
            row *= -1
    return mean.astype(np.float32), comps.astype(np.float32)


def _plane_points(z: np.ndarray, grid: int) -> np.ndarray:
    """float32[grid*grid, 2]: the lattice mlx.viz.boundaries.decision_boundary_2d evaluates."""
    from mlx.viz.boundaries import plane_axes
    ga, gb = plane_axes(np.asarray(z, dtype=np.float64), int(grid))
    aa, bb = np.meshgrid(ga, gb)
    return np.stack([aa.reshape(-1), bb.reshape(-1)], axis=1).astype(np.float32)


# Options for the tiny 2-D programs: XLA's backend at level 0 compiles them in about 60% of the
# time (they train 3 to a few hundred parameters on 2 inputs for at most 5 epochs: their run
# time is milliseconds either way); refused options fall back to the default compile.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}
TWO_D_EPOCHS = 5
_PROBA: dict = {}  # compiled p(positive | x) per architecture


def plane_task(cfg, td, mean, comps):
    """(cfg2, td2): ``td`` on the two principal-component coordinates of its pixels only
    (float32[n, 2]; the plane of mean, comps), and ``cfg`` for at most TWO_D_EPOCHS epochs in
    float32: what a model trained on the plane is trained with."""
    from mlx.styles import pca_project
    from mlx.tasks import TaskData
    z_tr = pca_project(td.x_train.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    z_te = pca_project(td.x_test.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    td2 = TaskData(z_tr, td.y_train, z_te, td.y_test, td.task, td.num_classes, td.class_names,
                   td.balance, None, td.source, td.name)
    return cfg.replace(epochs=min(int(cfg.epochs), TWO_D_EPOCHS), precision="float32"), td2


def proba_2d(cfg2, params2) -> Callable:
    """p(positive | z), z float[m, 2], of a model trained on the plane (:func:`plane_task`);
    one compiled function per architecture."""
    import jax
    import jax.numpy as jnp

    from mlx.models import make_model
    mk = ("2d", cfg2.model, tuple(cfg2.hidden), cfg2.activation)
    if mk not in _PROBA:
        model2 = make_model(cfg2.model, d=2, k_out=1, hidden=cfg2.hidden, activation=cfg2.activation)
        _PROBA[mk] = jax.jit(lambda p, z: jax.nn.sigmoid(model2.apply(p, z)[:, 0]))
    f = _PROBA[mk]
    return lambda z: np.asarray(f(params2, jnp.asarray(z, jnp.float32)))


def train_2d(cfg, td, mean, comps):
    """The model of ``cfg`` (its architecture, optimizer, lr, batch size, seed; at most
    TWO_D_EPOCHS epochs) trained on the two principal-component coordinates of ``td`` only,
    as ``mlx.viz.run_figures._train_2d`` (same data, same settings, same mlx.train program),
    compiled with FAST_COMPILE. Returns (z_test float32[n, 2], proba: float[m, 2] -> float[m])."""
    import jax

    from mlx.train import hparams, make_train, seed_keys
    cfg2, td2 = plane_task(cfg, td, mean, comps)
    tr = make_train(cfg2, td2)
    data, hp, key = tr.put(td2), hparams(cfg2.lr, cfg2.weight_decay), seed_keys(cfg2.seed)
    lowered = jax.jit(tr.train).lower(hp, key, data)
    try:
        compiled = lowered.compile(compiler_options=FAST_COMPILE)
    except Exception:  # an XLA without these options: its default
        compiled = lowered.compile()
    params2, _ = jax.block_until_ready(compiled(hp, key, data))
    return td2.x_test, proba_2d(cfg2, params2)


def train_plane_model(row: dict, td, plane, grid: int):
    """The 2-D model with the settings of ``row`` (:func:`train_2d`) and its probabilities on
    the figure's lattice, computed ahead (in the background thread); returns (z_test, proba)
    where proba answers the lattice from the cache, anything else by the model."""
    z_te, proba2 = train_2d(config_of(row), td, *plane)
    pts = _plane_points(z_te, grid)
    cached = np.asarray(proba2(pts))

    def proba(z):
        z = np.asarray(z)
        return cached if z.shape == pts.shape and np.array_equal(z, pts) else proba2(z)
    return z_te, proba



def proba_of(cfg, d: int, params) -> Callable:
    """p(positive | x) of a 784-input binary model, x float32[m, d] in [0, 1]; one compiled
    function per architecture (shared by every task and params of that shape)."""
    import jax
    import jax.numpy as jnp

    from mlx.models import make_model
    if cfg.model == "logreg" and cfg.precision == "float32":  # its apply, in numpy: no compile
        b = np.asarray(params["b"], np.float32)[:, 0]
        b0 = np.float32(np.asarray(params["b0"]).reshape(-1)[0])
        return lambda x: 0.5 * (1.0 + np.tanh(0.5 * (np.asarray(x, np.float32) @ b + b0)))
    key = (cfg.model, d, tuple(cfg.hidden), cfg.activation, cfg.precision)
    if key not in _PROBA:
        model = make_model(cfg.model, d=d, k_out=1, hidden=cfg.hidden, activation=cfg.activation,
                           precision=cfg.precision)
        _PROBA[key] = jax.jit(lambda q, x: jax.nn.sigmoid(model.apply(q, x)[:, 0]))
    f = _PROBA[key]
    p = jax.tree_util.tree_map(jnp.asarray, params)
    return lambda x: np.asarray(f(p, jnp.asarray(x, jnp.float32)))


def config_of(row: dict):
    from mlx.config import FIELDS, make_config
    return make_config({k: row[k] for k in FIELDS if k in row and row[k] is not None})


class PlaneFits:
    """The PCA planes of the tasks and the 2-D models of the best configs
    (:func:`train_plane_model`), in one background thread: a sweep asks for a model x task's
    as soon as its configs are trained, so its compile (most of its cost, and JAX leaves the GIL
    for it) runs while the next configs train, not at the end. Each is computed once; a plane
    that fails is its Future's exception. :meth:`close` drops what has not started."""

    def __init__(self, grid: int):
        from concurrent.futures import ThreadPoolExecutor
        self.grid = grid
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlx-2d")
        self.planes: dict = {}  # task -> Future of (mean, comps)
        self.fits: dict = {}    # (task, run name) -> Future of (z_test, proba)
        self.seconds: dict = {}  # "pca_plane" -> wall seconds computing the planes

    def _plane(self, td):
        import time
        t0 = time.perf_counter()
        try:
            return pca_plane(td)
        finally:
            self.seconds["pca_plane"] = self.seconds.get("pca_plane", 0.0) + time.perf_counter() - t0

    def plane(self, task: str, td):
        """Future of the task's PCA plane (:func:`pca_plane`)."""
        if task not in self.planes:
            self.planes[task] = self.pool.submit(self._plane, td)
        return self.planes[task]

    def fit(self, row: dict, task: str, td):
        """Future of the 2-D model with the settings of ``row`` on the task's plane."""
        key = (task, row["name"])
        if key not in self.fits:
            plane = self.plane(task, td)
            self.fits[key] = self.pool.submit(lambda: train_plane_model(row, td, plane.result(), self.grid))
        return self.fits[key]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

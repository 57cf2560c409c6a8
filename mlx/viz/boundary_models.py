"""The models the sweep's decision-boundary figures evaluate, from what the sweep holds: the
PCA plane of a task's training pixels (:func:`pca_plane`), p(positive | x) of a best config's
params (:func:`proba_of`), and the one training the pictures add: the best config's model
trained on the two principal components only (:func:`train_2d`, :func:`train_plane_model`),
by a small training program (:func:`plane_program`), compiled for all of a sweep's 2-D models
at once before their best configs are known (:func:`prepare_plane_models`). p(x) of float32
models is numpy (no compile); one jitted p(x) per other architecture is kept in ``_PROBA``, one
compiled 2-D program per set of static facts in ``_PROGRAMS``.
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


def has_plane(td) -> bool:
    """Whether a task's pictures have decision boundaries: a binary task on images."""
    return td.k_out == 1 and td.image_shape is not None


def _plane_points(z: np.ndarray, grid: int) -> np.ndarray:
    """float32[grid*grid, 2]: the lattice mlx.viz.boundaries.decision_boundary_2d evaluates."""
    from mlx.viz.boundaries import plane_axes
    ga, gb = plane_axes(np.asarray(z, dtype=np.float64), int(grid))
    aa, bb = np.meshgrid(ga, gb)
    return np.stack([aa.reshape(-1), bb.reshape(-1)], axis=1).astype(np.float32)


# Options for the tiny 2-D programs: XLA's backend at level 0 compiles them in about 60% of the
# time (they train 3 to a few hundred parameters on 2 inputs for at most 5 epochs: their run
# time is milliseconds either way), and XLA:CPU's older loop emitters instead of its fusion
# emitters take about a third off again (the threefry hashes of init and data order are most
# of these programs: their fusions compile much faster that way; the params come out
# bit-identical, checked on the default sweep's four 2-D models, and so does a 784-input MLP's
# p(x), no slower). One codegen split instead of XLA's default parallel split takes about a
# tenth off the CPU of their compile again (2.2 against 2.4-2.7 CPU-s for the four programs
# alone, params bit-identical). Refused options fall back to the default compile.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True,
                "xla_cpu_use_fusion_emitters": False, "xla_cpu_parallel_codegen_split_count": 1}
TWO_D_EPOCHS = 5
BOUNDARY_CHUNK = 8192  # rows per call of a 784-input model's p(x) on the decision boundary's lattice
_PROBA: dict = {}  # jitted p(positive | x) per architecture
_PROGRAMS: dict = {}  # compiled 2-D training programs (plane_program) by their static facts


def plane_config(cfg):
    """``cfg`` as a model trained on the plane is trained: at most TWO_D_EPOCHS epochs, float32."""
    return cfg.replace(epochs=min(int(cfg.epochs), TWO_D_EPOCHS), precision="float32")


def plane_task(cfg, td, mean, comps):
    """(cfg2, td2): ``td`` on the two principal-component coordinates of its pixels only
    (float32[n, 2]; the plane of mean, comps), and :func:`plane_config` of ``cfg``: what a
    model trained on the plane is trained with."""
    from mlx.styles import pca_project
    from mlx.tasks import TaskData
    z_tr = pca_project(td.x_train.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    z_te = pca_project(td.x_test.astype(np.float32) / 255.0, mean, comps).astype(np.float32)
    td2 = TaskData(z_tr, td.y_train, z_te, td.y_test, td.task, td.num_classes, td.class_names,
                   td.balance, None, td.source, td.name)
    return plane_config(cfg), td2


def _init_shapes(model):
    """The model's params as shapes and dtypes (traced only: nothing compiled or allocated)."""
    import jax
    return jax.eval_shape(model.init, jax.random.key(0))


def _zeros_like_init(model):
    """Zero params with the model's structure, shapes and dtypes."""
    import jax
    return jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), _init_shapes(model))


def proba_2d(cfg2, params2) -> Callable:
    """p(positive | z), z float[m, 2], of a model trained on the plane (:func:`plane_task`):
    :func:`proba_of` on 2 inputs."""
    return proba_of(cfg2, 2, params2)


def _program_key(cfg2, n: int, k_out: int) -> tuple:
    """What the 2-D training program is compiled for: its static facts (the epochs only where a
    schedule's horizon depends on them; the learning rate, weight decay and seed are arguments)."""
    horizon = 0 if cfg2.schedule == "constant" else int(cfg2.epochs)
    return (cfg2.model, tuple(cfg2.hidden), cfg2.activation, cfg2.precision, cfg2.optimizer,
            float(cfg2.momentum), cfg2.schedule, float(cfg2.warmup_epochs), horizon,
            int(min(cfg2.batch_size, n)), int(n), int(k_out))


class _Bundle:
    """One compiled program that trains several 2-D models side by side, each by
    :func:`mlx.train.make_fit_params`: one compile instead of one per model (for the four of
    the default sweep about 40% less compile work; XLA's cost is largely per program). A model
    is trained alone by giving the others 0 epochs (their init only). specs: [(cfg2, n, k_out)];
    called as bundle(slot, (hparams, key, x float32[n, 2], y int32[n], epochs int32[]))."""

    def __init__(self, specs: list):
        import types

        import jax

        from mlx.train import hparams, make_fit_params, seed_keys
        fits = [make_fit_params(c, types.SimpleNamespace(x_train=np.zeros((n, 2), np.float32), k_out=k))
                for c, n, k in specs]
        self.idle = [(hparams(0.0, 0.0), seed_keys(0), np.zeros((n, 2), np.float32),
                      np.zeros(n, np.int32), np.int32(0)) for _, n, _ in specs]
        lowered = jax.jit(lambda args: [f(*a) for f, a in zip(fits, args)]).lower(self.idle)
        try:
            self.compiled = lowered.compile(compiler_options=FAST_COMPILE)
        except Exception:  # an XLA without these options: its default
            self.compiled = lowered.compile()

    def __call__(self, slot: int, args: tuple):
        full = list(self.idle)
        full[slot] = args
        return self.compiled(full)[slot]


def plane_programs(specs: list) -> None:
    """Compile the 2-D training programs of specs [(cfg2, n plane points, k_out)] as one
    :class:`_Bundle` and keep each, by its static facts, in ``_PROGRAMS`` (those there already
    are left as they are)."""
    todo: dict = {}
    for cfg2, n, k_out in specs:
        pk = _program_key(cfg2, n, k_out)
        if pk not in _PROGRAMS and pk not in todo:
            todo[pk] = (cfg2, int(n), int(k_out))
    if todo:
        bundle = _Bundle(list(todo.values()))
        for slot, pk in enumerate(todo):
            _PROGRAMS[pk] = (bundle, slot)


def plane_program(cfg2, n: int, k_out: int = 1) -> Callable:
    """The compiled :func:`mlx.train.make_fit_params` program of ``cfg2`` on n plane points
    (float32[n, 2]), with FAST_COMPILE: the one :func:`plane_programs` made, else one of its
    own. Called as (hparams, key, x float32[n, 2], y int32[n], epochs int32[]) -> params."""
    plane_programs([(cfg2, n, k_out)])
    bundle, slot = _PROGRAMS[_program_key(cfg2, n, k_out)]
    return lambda *args: bundle(slot, args)


def train_2d(cfg, td, mean, comps):
    """The model of ``cfg`` (its architecture, optimizer, lr, batch size, seed; at most
    TWO_D_EPOCHS epochs) trained on the two principal-component coordinates of ``td`` only
    (:func:`plane_task`) by :func:`plane_program`: the training of ``mlx.train`` (same init,
    data order and steps) without its per-epoch evaluation. ``mlx train``'s 2-D picture and the
    sweep's are this function. Returns (z_test float32[n, 2], proba: float[m, 2] -> float[m])."""
    import jax

    from mlx.train import hparams, seed_keys
    cfg2, td2 = plane_task(cfg, td, mean, comps)
    program = plane_program(cfg2, len(td2.x_train), td2.k_out)
    params2 = jax.block_until_ready(program(
        hparams(cfg2.lr, cfg2.weight_decay), seed_keys(cfg2.seed), td2.x_train,
        np.asarray(td2.y_train, np.int32), np.int32(cfg2.epochs)))
    return td2.x_test, proba_2d(cfg2, params2)


PREPARE_MAX_BYTES = 256 << 20  # larger models are not prepared ahead (their own group may be refused)


def _small(cfg, d: int, rows: int) -> bool:
    """Whether cfg's model on d inputs has params and activations on ``rows`` rows within
    PREPARE_MAX_BYTES (shapes only, nothing allocated)."""
    import jax

    from mlx.models import make_model
    model = make_model(cfg.model, d=d, k_out=1, hidden=cfg.hidden, activation=cfg.activation,
                       precision=cfg.precision)
    shapes = jax.tree_util.tree_leaves(_init_shapes(model))
    widest = max([d, *[int(w) for w in (cfg.hidden if cfg.model == "mlp" else ())]])
    return 4 * (sum(int(np.prod(x.shape)) for x in shapes) + rows * widest) <= PREPARE_MAX_BYTES


def prepare_plane_models(specs: list, grid: int) -> None:
    """Compile, before the settings of the best configs are known (only shapes matter), what
    their 2-D models and decision boundaries need: for specs [(cfg, TaskData)], one
    :func:`plane_programs` bundle of their 2-D programs, their lattice p(x) (:func:`proba_2d`
    on grid x grid points) and the p(x) of the d-input models on the boundary's chunks. Models
    over PREPARE_MAX_BYTES are left to their turn: a sweep may refuse their programs as too big
    for the device, and preparing them must not take that memory first."""
    chunk = min(BOUNDARY_CHUNK, grid * grid)
    specs = [(cfg, td) for cfg, td in specs
             if _small(cfg, td.x_train.shape[1], chunk) and _small(plane_config(cfg), 2, grid * grid)]
    plane_programs([(plane_config(cfg), len(td.x_train), td.k_out) for cfg, td in specs])
    for cfg, td in specs:
        prepare_proba(plane_config(cfg), 2, grid * grid)
        prepare_proba(cfg, td.x_train.shape[1], chunk)


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


def plane_slice_of(row: dict, params, td, plane, grid: int) -> dict:
    """:func:`mlx.viz.boundaries.plane_slice` of params (of the model of ``row``) on the PCA
    plane (mean, comps) of ``td``: the numbers of its decision-boundary figure."""
    from mlx.viz.boundaries import plane_slice
    mean, comps = plane
    return plane_slice(td.x_test.astype(np.float32) / 255.0, td.y_test,
                       proba_of(config_of(row), td.x_train.shape[1], params),
                       mean=mean, components=comps, grid=grid, chunk=BOUNDARY_CHUNK)


def _fast_jit(fn: Callable) -> Callable:
    """jax.jit of fn compiled with FAST_COMPILE (a third of the compile of a 784-input MLP's
    p(x), its run a few ms slower per call), or the default where XLA refuses the options."""
    import jax
    fast, plain = jax.jit(fn, compiler_options=FAST_COMPILE), jax.jit(fn)
    state = {"fast": True}

    def call(*args):
        if state["fast"]:
            try:
                return fast(*args)
            except Exception:  # an XLA without these options (a real error raises again below)
                state["fast"] = False
        return plain(*args)
    return call


def _proba_fn(cfg, d: int):
    """The jitted p(positive | x) of cfg's architecture on d inputs and the model, kept in
    ``_PROBA``."""
    import jax

    from mlx.models import make_model
    key = (cfg.model, d, tuple(cfg.hidden), cfg.activation, cfg.precision)
    if key not in _PROBA:
        model = make_model(cfg.model, d=d, k_out=1, hidden=cfg.hidden, activation=cfg.activation,
                           precision=cfg.precision)
        _PROBA[key] = (_fast_jit(lambda q, x: jax.nn.sigmoid(model.apply(q, x)[:, 0])), model)
    return _PROBA[key]


# The activations of mlx.models.ACTIVATIONS in numpy (gelu: flax's default, the tanh form).
_NUMPY_ACTIVATIONS = {
    "relu": lambda h: np.maximum(h, np.float32(0)),
    "tanh": np.tanh,
    "gelu": lambda h: np.float32(0.5) * h * (np.float32(1) + np.tanh(
        np.float32(np.sqrt(2 / np.pi)) * (h + np.float32(0.044715) * h * h * h))),
}


def _numpy_proba(cfg) -> bool:
    """Whether cfg's p(x) is evaluated in numpy (no XLA program to compile: the pictures' p(x)
    are a few matmuls on at most grid x grid rows, where a compile costs more CPU than the
    evaluation): float32 logistic regressions and MLPs with a known activation."""
    return cfg.precision == "float32" and (
        cfg.model == "logreg" or cfg.model == "mlp" and cfg.activation in _NUMPY_ACTIVATIONS)


def _numpy_logit(cfg, params) -> Callable:
    """x float32[m, d] -> float32[m]: the positive-class logit of mlx.models' apply, in numpy."""
    if cfg.model == "logreg":
        b = np.asarray(params["b"], np.float32)[:, 0]
        b0 = np.float32(np.asarray(params["b0"]).reshape(-1)[0])
        return lambda x: x @ b + b0
    act = _NUMPY_ACTIVATIONS[cfg.activation]
    layers = [(np.asarray(params[f"hidden_{i}"]["kernel"], np.float32),
               np.asarray(params[f"hidden_{i}"]["bias"], np.float32)) for i in range(len(cfg.hidden))]
    w_out = np.asarray(params["out"]["kernel"], np.float32)[:, 0]
    b_out = np.float32(np.asarray(params["out"]["bias"]).reshape(-1)[0])

    def logit(x):
        for w, b in layers:
            x = act(x @ w + b)
        return x @ w_out + b_out
    return logit


def proba_of(cfg, d: int, params) -> Callable:
    """p(positive | x) of a d-input binary model, x float32[m, d] in [0, 1]: in numpy where
    :func:`_numpy_proba` (equal to the jitted apply to float32 rounding), else one jitted
    function per architecture (shared by every task and params of that shape)."""
    import jax
    if _numpy_proba(cfg):  # its apply, in numpy: no compile
        logit = _numpy_logit(cfg, params)
        return lambda x: 0.5 * (1.0 + np.tanh(0.5 * logit(np.asarray(x, np.float32))))
    f = _proba_fn(cfg, d)[0]
    p = jax.device_put(params)  # (jnp.asarray would compile a small copy program per shape)
    return lambda x: np.asarray(f(p, jax.device_put(np.asarray(x, np.float32))))


def prepare_proba(cfg, d: int, rows: int) -> None:
    """Compile :func:`proba_of`'s function for cfg's architecture on float32[rows, d] (the
    decision boundary's chunks) before any params exist."""
    if not _numpy_proba(cfg):
        f, model = _proba_fn(cfg, d)
        f(_zeros_like_init(model), np.zeros((rows, d), np.float32)).block_until_ready()


def config_of(row: dict):
    from mlx.config import FIELDS, make_config
    return make_config({k: row[k] for k in FIELDS if k in row and row[k] is not None})


class PlaneFits:
    """The PCA planes of the tasks, the 2-D models of the best configs
    (:func:`train_plane_model`) and the best params' p(x) on the planes (:meth:`slice`), in one
    background thread, and the figures of the model x tasks
    whose configs are all trained, in a second one (:meth:`draw`; it waits for the first, never
    the other way round). A sweep :meth:`prepare`\ s its model x tasks when it starts (the
    planes, and the compiles, which need only shapes: one program for all the 2-D models, built
    while the groups train; JAX leaves the GIL for it) and asks for a model x task's :meth:`fit`
    as soon as its configs are trained (then a few milliseconds of training). Each is computed
    once; a plane that fails is its Future's exception, a failed preparation is only lost time
    (the fit compiles again and says why). :meth:`close` drops what has not started."""

    def __init__(self, grid: int):
        from concurrent.futures import ThreadPoolExecutor
        self.grid = grid
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlx-2d")
        self.drawer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlx-draw")
        self.planes: dict = {}  # task -> Future of (mean, comps)
        self.fits: dict = {}    # (task, run name) -> Future of (z_test, proba)
        self.slices: dict = {}  # (task, run name) -> Future of its plane_slice_of
        self.seconds: dict = {}  # "pca_plane" -> wall seconds computing the planes
        self.closing = False     # set by close: drawing stops at its next figure

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

    def prepare(self, specs: list):
        """Start the planes of the tasks of specs [(cfg, task, TaskData)] and compile, from
        their static facts, what the :meth:`fit` of any config of their groups needs
        (:func:`prepare_plane_models`): known before their best configs are."""
        for _, task, td in specs:
            self.plane(task, td)
        return self.pool.submit(prepare_plane_models, [(cfg, td) for cfg, _, td in specs], self.grid)

    def fit(self, row: dict, task: str, td):
        """Future of the 2-D model with the settings of ``row`` on the task's plane."""
        key = (task, row["name"])
        if key not in self.fits:
            plane = self.plane(task, td)
            self.fits[key] = self.pool.submit(lambda: train_plane_model(row, td, plane.result(), self.grid))
        return self.fits[key]

    def slice(self, row: dict, params, task: str, td):
        """Future of the p(x) of ``params`` (the model of ``row``) on the task's PCA plane
        (:func:`plane_slice_of`), computed in the background thread."""
        key = (task, row["name"])
        if key not in self.slices:
            plane = self.plane(task, td)
            self.slices[key] = self.pool.submit(lambda: plane_slice_of(row, params, td, plane.result(), self.grid))
        return self.slices[key]

    def draw(self, fn: Callable, *args, **kwargs):
        """Future of fn(*args, **kwargs) in the drawing thread (one figure at a time, in the order
        asked; matplotlib is not drawn from two threads at once as long as the caller waits for
        these before it draws itself)."""
        return self.drawer.submit(fn, *args, **kwargs)

    def close(self) -> None:
        self.closing = True
        self.drawer.shutdown(wait=True, cancel_futures=True)
        self.pool.shutdown(wait=True, cancel_futures=True)

"""A whole training run as one pure, jit-compiled, vmappable function.

    trainer = make_train(config, task_data)          # host-side set-up, static shapes
    data = trainer.put(task_data)                    # arrays on the device, once (uint8)
    params, metrics = jax.jit(trainer.train)(Hparams(lr, wd), key, data)

``train(hparams, key, data)`` runs ``epochs x steps`` optimizer steps in nested ``lax.scan``s:
each epoch draws a permutation from the run's key, batches are gathered on the device inside the
scan and scaled to [0, 1] there, and the test split is evaluated after every epoch in bounded
chunks. It returns the final params and per-epoch metrics (float32[epochs] each).

Swept values (learning rate, weight decay, the key) are *arguments*, everything that changes the
compiled program (model, sizes, optimizer, schedule, epochs, batch size) is fixed by the config.
A sweep lays its lanes out as [seeds, lanes per seed] and runs
``jit(vmap(run_lanes))``: vmapped over seeds outside (each seed its own data order, exactly the
order ``mlx train seed=S`` uses) and over hyperparameters inside (lanes of a seed share each
batch, so a logreg lane is one column of one matmul). Unlike purejaxrl's ``make_train`` we
also pass the data as an argument instead of closing over it: a closed-over array would be baked
into the compiled program as a constant (slow to compile, copied per program), an argument is
shared by every lane and every program.

This module imports no W&B, no plotting and does no file I/O.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlx.models import Model, make_model

METRICS = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")


class Hparams(NamedTuple):
    """The traced (vmappable) hyperparameters: float32[] each, or float32[c] under vmap."""

    lr: jax.Array
    weight_decay: jax.Array


class TrainState(NamedTuple):
    params: dict       # model params (plain pytree)
    opt_state: tuple   # optax state (step count inside drives the schedule)
    epoch: jax.Array   # int32[]: epochs completed


class DeviceData(NamedTuple):
    x_train: jax.Array  # uint8[n, d] (or float32[n, d] features)
    y_train: jax.Array  # int32[n]
    x_test: jax.Array   # uint8[chunks, eval_batch, d]: test split padded to whole chunks
    y_test: jax.Array   # int32[chunks, eval_batch]
    test_mask: jax.Array  # float32[chunks, eval_batch]: 1 for real examples, 0 for padding
    test_style: jax.Array  # int32[chunks, eval_batch]: style of the target digit's examples, -1 others


class Trainer(NamedTuple):
    """What make_train returns: pure functions plus the static facts they were built for."""

    model: Model
    init: Callable    # (hparams, key) -> TrainState
    run: Callable     # (state, hparams, key, data, n_epochs: static) -> (state, metrics)
    train: Callable   # (hparams, key, data) -> (params, metrics)
    put: Callable     # (task_data) -> DeviceData
    steps_per_epoch: int
    batch_size: int
    epochs: int
    init_lanes: Callable  # (hparams[L], key) -> TrainState of L lanes sharing the seed
    run_lanes: Callable   # (state[L], hparams[L], key, data, n_epochs: static) -> (state, metrics[E, L])


def scale_inputs(x):
    """uint8 pixels -> float32 in [0, 1]; float features pass through."""
    return x.astype(jnp.float32) / 255.0 if x.dtype == jnp.uint8 else x.astype(jnp.float32)


def loss_and_accuracy(logits, y, k_out: int):
    """Mean loss and accuracy. logits float32[n, k_out], y int32[n].

    Binary (k_out = 1): cross-entropy of p = sigmoid(z) computed from the logit with
    log-sigmoid, -[y log sigma(z) + (1 - y) log sigma(-z)], never the log of a rounded p.
    K classes: softmax cross-entropy.
    """
    if k_out == 1:
        z = logits[:, 0]
        yf = y.astype(jnp.float32)
        losses = -(yf * jax.nn.log_sigmoid(z) + (1.0 - yf) * jax.nn.log_sigmoid(-z))
        correct = (z > 0).astype(jnp.int32) == y
    else:
        losses = optax.softmax_cross_entropy_with_integer_labels(logits, y)
        correct = jnp.argmax(logits, -1) == y
    return losses, correct.astype(jnp.float32)


def make_optimizer(name: str, lr, weight_decay, *, schedule: str, total_steps: int,
                   warmup_steps: int = 0, momentum: float = 0.9) -> optax.GradientTransformation:
    """An optax optimizer whose learning rate and weight decay may be traced values.

    schedule: 'constant' | 'cosine' (to 0 over total_steps) | 'warmup_cosine' (linear warmup
    from 0 over warmup_steps, then cosine to 0). adamw decays weights decoupled from the
    gradient; sgd, momentum and adam add weight_decay * params to the gradient (L2).
    """
    # The schedule is built with peak 1 and multiplied by lr, so a traced (vmapped) lr never
    # meets optax's Python-side checks on schedule values.
    if schedule == "constant":
        sched = lr
    elif schedule == "cosine":
        unit = optax.cosine_decay_schedule(1.0, max(total_steps, 1))
        sched = lambda count: lr * unit(count)  # noqa: E731
    elif schedule == "warmup_cosine":
        w = min(max(warmup_steps, 1), max(total_steps - 1, 1))
        unit = optax.warmup_cosine_decay_schedule(0.0, 1.0, w, max(total_steps, w + 1))
        sched = lambda count: lr * unit(count)  # noqa: E731
    else:
        raise ValueError(f"unknown schedule {schedule!r}")
    if name == "adamw":
        return optax.adamw(sched, weight_decay=weight_decay)
    base = {"sgd": lambda: optax.sgd(sched),
            "momentum": lambda: optax.sgd(sched, momentum=momentum),
            "adam": lambda: optax.adam(sched)}[name]()
    return optax.chain(optax.add_decayed_weights(weight_decay), base)


def pad_test(x: np.ndarray, y: np.ndarray, eval_batch: int, style: np.ndarray | None = None):
    """Pad the test split to whole chunks: (x[c, b, d], y[c, b], mask[c, b], style[c, b])."""
    n = len(y)
    b = max(1, min(eval_batch, n))
    c = -(-n // b)
    pad = c * b - n
    xp = np.concatenate([x, np.zeros((pad,) + x.shape[1:], x.dtype)]).reshape(c, b, -1)
    yp = np.concatenate([y, np.zeros(pad, y.dtype)]).reshape(c, b)
    mask = np.concatenate([np.ones(n, np.float32), np.zeros(pad, np.float32)]).reshape(c, b)
    style = np.full(n, -1, np.int32) if style is None else np.asarray(style, np.int32)
    sp = np.concatenate([style, np.full(pad, -1, np.int32)]).reshape(c, b)
    return xp, yp, mask, sp


def make_train(cfg, td, *, snapshots: bool = False, progress: Callable | None = None) -> Trainer:
    """Build the pure training functions for config ``cfg`` and data shaped like ``td``.

    cfg: mlx.config.Config (its static fields: model, hidden, activation, precision, optimizer,
         schedule, warmup_epochs, momentum, epochs, batch_size, eval_batch_size).
    td: mlx.tasks.TaskData (only shapes and k_out are read here; ``put`` moves the arrays).
    snapshots: also return the logreg weights after every epoch (metrics["b"]: float32[E, d, k]).
    progress: a host function called once per epoch as progress(epoch, metrics_of_epoch)
        through jax.debug.callback (never per step). Leave None under vmap.

    ``init_lanes``/``run_lanes`` train L lanes that share a seed (a sweep's row of lanes: one
    data order, one gather per step, wide matmuls); ``init``/``run``/``train`` are its L = 1
    case, which ``mlx train`` runs. The pieces are built by the functions below, each closing
    over the static facts only (shapes, the model, the optimizer's name and schedule).
    """
    n, d = td.x_train.shape
    k_out = td.k_out
    bs = int(min(cfg.batch_size, n))  # documented clamp: a batch cannot exceed the data
    steps = n // bs
    epochs = int(cfg.epochs)
    model = make_model(cfg.model, d=d, k_out=k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)
    n_styles = int(getattr(td, "n_styles", 0) or 0) if k_out == 1 else 0
    optimizer = _optimizer_of(cfg, steps, epochs)
    init_lanes = _init_lanes_fn(model, optimizer)
    run_lanes = _run_lanes_fn(model, optimizer, k_out, n, steps, bs, n_styles, progress,
                              snapshots and cfg.model == "logreg")
    init, run, train = _one_lane_fns(init_lanes, run_lanes, epochs)

    def put(td_) -> DeviceData:
        xt, yt, mt, st = pad_test(td_.x_test, td_.y_test, cfg.eval_batch_size,
                                  getattr(td_, "test_style", None))
        return DeviceData(*(jax.device_put(a) for a in
                            (td_.x_train, td_.y_train.astype(np.int32), xt, yt.astype(np.int32), mt, st)))

    return Trainer(model, init, run, train, put, steps, bs, epochs, init_lanes, run_lanes)


def _optimizer_of(cfg, steps: int, epochs: int) -> Callable:
    """hp -> the config's optax optimizer with hp's (traced) learning rate and weight decay."""
    def optimizer(hp: Hparams):
        return make_optimizer(cfg.optimizer, hp.lr, hp.weight_decay, schedule=cfg.schedule,
                              total_steps=epochs * steps,
                              warmup_steps=int(round(cfg.warmup_epochs * steps)),
                              momentum=cfg.momentum)
    return optimizer


def _evaluate_fn(model: Model, k_out: int, n_styles: int) -> Callable:
    """(params, data) -> (test loss, test accuracy, recall per style of the target digit
    float32[n_styles]), over the padded test chunks with lax.map (bounded memory)."""
    def evaluate(params, data: DeviceData):
        def chunk(args):
            xc, yc, mc, sc = args
            logits = model.apply(params, scale_inputs(xc))
            losses, correct = loss_and_accuracy(logits, yc, k_out)
            in_style = (sc[:, None] == jnp.arange(n_styles)).astype(jnp.float32)   # [b, styles]
            hits = in_style * (logits[:, :1] > 0).astype(jnp.float32)
            return (losses * mc).sum(), (correct * mc).sum(), hits.sum(0), in_style.sum(0)
        loss_sums, correct_sums, hits, counts = jax.lax.map(
            chunk, (data.x_test, data.y_test, data.test_mask, data.test_style))
        m = data.test_mask.sum()
        return loss_sums.sum() / m, correct_sums.sum() / m, hits.sum(0) / jnp.maximum(counts.sum(0), 1.0)
    return evaluate


def _init_lanes_fn(model: Model, optimizer: Callable) -> Callable:
    def init_lanes(hp: Hparams, key) -> TrainState:
        """State of L lanes that share one seed: hp float32[L] each; the params are the
        seed's (identical across the lanes), the optimizer state is per lane (it may hold lr)."""
        p1 = model.init(jax.random.fold_in(key, 0))
        L = hp.lr.shape[0]
        params = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (L,) + a.shape), p1)
        opt_state = jax.vmap(lambda p, h: optimizer(h).init(p))(params, hp)
        return TrainState(params, opt_state, jnp.zeros((), jnp.int32))
    return init_lanes


def _lane_step_fn(model: Model, optimizer: Callable, k_out: int) -> Callable:
    """(params, opt_state, hp, xb, yb) -> (params, opt_state, loss, accuracy): one SGD step."""
    def loss_fn(params, xb, yb):
        losses, correct = loss_and_accuracy(model.apply(params, scale_inputs(xb)), yb, k_out)
        return losses.mean(), correct.mean()

    def lane_step(p, s, h, xb, yb):
        (loss, acc), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, xb, yb)
        updates, s = optimizer(h).update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss, acc
    return lane_step


def _run_lanes_fn(model, optimizer, k_out, n, steps, bs, n_styles, progress, snapshots) -> Callable:
    lane_step = _lane_step_fn(model, optimizer, k_out)
    evaluate = _evaluate_fn(model, k_out, n_styles)

    def run_lanes(state: TrainState, hp: Hparams, key, data: DeviceData, n_epochs: int):
        """Run ``n_epochs`` more epochs of L lanes that share the key (the seed): one data order,
        so each step does one permutation slice and one gather for all lanes, and a layer is
        one wide matmul ([bs, d] x [d, L*width]). state: params/opt_state with a leading lanes
        axis, epoch int32[] (shared); hp: float32[L] each. The order of epoch e depends only on
        (key, e), so a run split into segments (checkpoint + resume) equals an unbroken one.
        Returns (state, metrics {name: float32[n_epochs, L]})."""
        order_key = jax.random.fold_in(key, 1)

        def epoch_body(carry, epoch):
            params, opt_state = carry
            perm = jax.random.permutation(jax.random.fold_in(order_key, epoch), n)
            idx = perm[: steps * bs].reshape(steps, bs)

            def step(c, ib):
                p, s = c
                xb, yb = data.x_train[ib], data.y_train[ib]   # one gather for all lanes
                p, s, loss, acc = jax.vmap(lane_step, in_axes=(0, 0, 0, None, None))(p, s, hp, xb, yb)
                return (p, s), (loss, acc)

            (params, opt_state), (losses, accs) = jax.lax.scan(step, (params, opt_state), idx)
            test_loss, test_acc, recall = jax.vmap(evaluate, in_axes=(0, None))(params, data)
            m = {"train_loss": losses.mean(0), "train_accuracy": accs.mean(0),
                 "test_loss": test_loss, "test_accuracy": test_acc}
            if n_styles:  # float32[L, styles]: recall of the target digit within each style
                m["style_recall"] = recall
            if progress is not None:  # one lane (mlx train): scalars
                jax.debug.callback(progress, epoch, m if hp.lr.shape[0] > 1 else
                                   jax.tree_util.tree_map(lambda a: a[0], m))
            if snapshots:
                m = {**m, "b": params["b"]}
            return (params, opt_state), m

        epochs_idx = state.epoch + jnp.arange(n_epochs, dtype=jnp.int32)
        (params, opt_state), metrics = jax.lax.scan(
            epoch_body, (state.params, state.opt_state), epochs_idx)
        return TrainState(params, opt_state, state.epoch + n_epochs), metrics
    return run_lanes


def _one_lane_fns(init_lanes: Callable, run_lanes: Callable, epochs: int):
    """(init, run, train) of one lane (``mlx train``): the L = 1 case of the same program, so a
    sweep lane and a single run execute the same math."""
    def _one(tree):
        return jax.tree_util.tree_map(lambda a: a[None], tree)

    def _only(tree):
        return jax.tree_util.tree_map(lambda a: a[0], tree)

    def init(hp: Hparams, key) -> TrainState:
        st = init_lanes(_one(hp), key)
        return TrainState(_only(st.params), _only(st.opt_state), st.epoch)

    def run(state: TrainState, hp: Hparams, key, data: DeviceData, n_epochs: int):
        """One lane: ``n_epochs`` more epochs from ``state``; metrics {name: float32[n_epochs]}."""
        st = TrainState(_one(state.params), _one(state.opt_state), state.epoch)
        st, m = run_lanes(st, _one(hp), key, data, n_epochs)
        m = jax.tree_util.tree_map(lambda a: a[:, 0], m)
        return TrainState(_only(st.params), _only(st.opt_state), st.epoch), m

    def train(hp: Hparams, key, data: DeviceData):
        """hp: Hparams of float32[]; key: PRNG key; data: DeviceData.
        Returns (params, metrics: {name: float32[epochs]})."""
        state, metrics = run(init(hp, key), hp, key, data, epochs)
        return state.params, metrics
    return init, run, train


def make_fit_params(cfg, td) -> Callable:
    """``fit(hparams, key, x_train, y_train, n_epochs) -> params``: the training of
    ``make_train(cfg, td).train`` (the same init, data order, optimizer and steps), without its
    per-epoch test evaluation and metrics, and with the number of epochs a traced int32[]
    (at most cfg.epochs, which stays the schedule's horizon). A program about a quarter smaller,
    so cheaper to compile, and one compile serves every epoch budget of a constant schedule:
    for models whose params are all that is wanted (the pictures' 2-D models)."""
    n, d = td.x_train.shape
    bs = int(min(cfg.batch_size, n))
    steps = n // bs
    model = make_model(cfg.model, d=d, k_out=td.k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)
    optimizer = _optimizer_of(cfg, steps, int(cfg.epochs))
    lane_step = _lane_step_fn(model, optimizer, td.k_out)

    def fit(hp: Hparams, key, x_train, y_train, n_epochs):
        params = model.init(jax.random.fold_in(key, 0))
        order_key = jax.random.fold_in(key, 1)

        def epoch_body(epoch, carry):
            perm = jax.random.permutation(jax.random.fold_in(order_key, epoch), n)

            def step(c, ib):
                p, s, _, _ = lane_step(*c, hp, x_train[ib], y_train[ib])
                return (p, s), None
            return jax.lax.scan(step, carry, perm[: steps * bs].reshape(steps, bs))[0]

        carry = (params, optimizer(hp).init(params))
        return jax.lax.fori_loop(jnp.int32(0), jnp.asarray(n_epochs, jnp.int32), epoch_body, carry)[0]
    return fit


EXPLODED_FACTOR = 10.0


def diverged(train_loss, num_classes: int) -> bool:
    """True when training blew up: a NaN or inf loss, or a loss more than EXPLODED_FACTOR times
    the loss of a know-nothing classifier (log K). The second case matters for the logistic
    regression: its loss is computed stably from the logit, so a huge learning rate gives huge
    but finite losses (e.g. 1e27) rather than NaN.

    train_loss: float[epochs] (the epochs that ran)."""
    v = np.asarray(train_loss, np.float64)
    return bool((~np.isfinite(v)).any() or (v > EXPLODED_FACTOR * np.log(max(num_classes, 2))).any())


def hparams(lr, weight_decay=0.0) -> Hparams:
    """Hparams from Python floats or sequences (sequences give a batch for vmap)."""
    return Hparams(jnp.asarray(lr, jnp.float32), jnp.asarray(weight_decay, jnp.float32))


def seed_keys(seeds):
    """PRNG keys for one seed (key[]) or a sequence of seeds (key[c])."""
    s = np.asarray(seeds, np.uint32)
    return jax.random.key(s) if s.ndim == 0 else jax.vmap(jax.random.key)(s)


def fit(cfg, td, *, snapshots: bool = False, progress: Callable | None = None):
    """Train one config: returns (params, metrics as numpy, seconds dict). Convenience wrapper."""
    import time
    tr = make_train(cfg, td, snapshots=snapshots, progress=progress)
    data = tr.put(td)
    hp = hparams(cfg.lr, cfg.weight_decay)
    key = seed_keys(cfg.seed)
    t0 = time.perf_counter()
    compiled = jax.jit(tr.train).lower(hp, key, data).compile()
    t1 = time.perf_counter()
    params, metrics = jax.block_until_ready(compiled(hp, key, data))
    t2 = time.perf_counter()
    return params, jax.device_get(metrics), {"compile_seconds": t1 - t0, "train_seconds": t2 - t1}

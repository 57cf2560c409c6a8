"""The shared-gather reference: a plain JAX + optax program written apart from mlx.train (the
yardstick), a logreg lr x seed grid with the lanes of a seed as the columns of one matmul, and
its run side by side with the engine on the same grid."""
from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from mlx.bench.engine_runs import Workloads, engine_run, grid_configs, lane_init_params
from mlx.bench.options import Options
from mlx.bench.progress import say


def make_reference(x_train, y_train, x_test, y_test, lrs, epochs: int, batch_size: int):
    """A binary logreg lr x seed grid in plain JAX + optax, written apart from mlx.train.

    Returns run(w0 float32[S, d], seeds uint32[S]) -> test accuracy float32[S, epochs, L]:
    seed s starts every lane from w0[s] (bias 0) and draws its batches as mlx train does;
    its L lanes (one per learning rate) are the columns of W[d, L], so a step is one gather
    and one [batch, d] x [d, L] matmul (and its transpose) per seed; Adam takes the
    learning rates as a vector. Seeds are vmapped. The test split is scored after each epoch."""
    x, y = jnp.asarray(x_train), jnp.asarray(y_train, jnp.float32)
    xt, yt = jnp.asarray(x_test), jnp.asarray(y_test, jnp.int32)
    n, d = x.shape
    steps = n // batch_size
    lr = jnp.asarray(lrs, jnp.float32)                       # [L]
    tx = optax.adam(lr)                                      # -lr * update broadcasts over lanes

    def loss(p, xb, yb):                                     # summed over lanes: grads per lane
        z = xb @ p["w"] + p["b"]                             # [B, L]
        ll = yb[:, None] * jax.nn.log_sigmoid(z) + (1 - yb[:, None]) * jax.nn.log_sigmoid(-z)
        return -ll.mean(0).sum()

    def step(carry, ib):
        p, s = carry
        xb = x[ib].astype(jnp.float32) / 255.0               # the seed's one gather
        g = jax.grad(loss)(p, xb, y[ib])
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    def one_seed(w0, seed):
        p = {"w": jnp.tile(w0, (1, lr.shape[0])), "b": jnp.zeros(lr.shape, jnp.float32)}
        okey = jax.random.fold_in(jax.random.key(seed), 1)

        def epoch(carry, e):
            idx = jax.random.permutation(jax.random.fold_in(okey, e), n)[: steps * batch_size]
            carry, _ = jax.lax.scan(step, carry, idx.reshape(steps, batch_size))
            z = xt.astype(jnp.float32) / 255.0 @ carry[0]["w"] + carry[0]["b"]
            return carry, ((z > 0).astype(jnp.int32) == yt[:, None]).mean(0)

        _, acc = jax.lax.scan(epoch, (p, tx.init(p)), jnp.arange(epochs))
        return acc                                            # [epochs, L]

    return jax.jit(jax.vmap(one_seed))


def run_reference(opts: Options, wl: Workloads) -> dict:
    """The engine (mlx sweep's path) and the shared-gather reference on one logreg lr x seed
    grid on 4vrest, timed alternately ``ref_repeats`` times, best of each kept."""
    task = "4vrest"
    td = wl.task_data(task)
    lrs = [float(v) for v in np.logspace(-4, -1, opts.ref_lrs)]
    seeds = list(range(opts.ref_seeds))
    E = opts.ref_epochs
    configs = grid_configs(opts, "logreg", task, E, lrs, seeds)
    say(f"[reference] logreg {task}: {len(lrs)} lr x {len(seeds)} seeds x {E} epochs, engine vs "
        f"shared-gather reference ...")
    w0 = np.stack([np.asarray(lane_init_params(wl, configs[0], 1e-3, 0.0, s)["b"]) for s in seeds])
    ref = make_reference(td.x_train, td.y_train, td.x_test, td.y_test, lrs, E,
                         min(opts.batch_size, len(td.y_train)))
    args = (jnp.asarray(w0), jnp.asarray(seeds, jnp.uint32))
    t0 = time.perf_counter()
    ref_c = ref.lower(*args).compile()
    ref_compile = time.perf_counter() - t0
    eng_s, ref_s, er, ref_acc, eng_compile = [], [], None, None, 0.0
    for _ in range(opts.ref_repeats):
        er = engine_run(configs, wl)
        eng_s.append(er.seconds)
        eng_compile += er.compile_seconds
        t0 = time.perf_counter()
        ref_acc = np.asarray(jax.block_until_ready(ref_c(*args)))
        ref_s.append(time.perf_counter() - t0)
    ref_final = ref_acc[:, -1, :].T.reshape(-1)          # [lr, seed] in the configs' order
    eng_final = er.final["test_accuracy"]
    diff = float(np.max(np.abs(ref_final - eng_final)))
    ce = len(configs) * E
    out = {"task": task, "model": "logreg", "configs": len(configs), "lrs": lrs, "seeds": len(seeds),
           "epochs": E, "repeats": opts.ref_repeats,
           "engine": {"seconds": min(eng_s), "all_seconds": eng_s, "compile_seconds": eng_compile,
                      "seconds_per_config_epoch": min(eng_s) / ce, "chunks": er.chunks,
                      "chunk": er.chunk, "shape": list(er.shape)},
           "reference": {"seconds": min(ref_s), "all_seconds": ref_s, "compile_seconds": ref_compile,
                         "seconds_per_config_epoch": min(ref_s) / ce},
           "ratio": min(eng_s) / min(ref_s), "max_accuracy_difference": diff,
           "agree": diff <= opts.tol}
    say(f"  engine      {min(eng_s):8.3f} s  ({er.chunks} chunk(s) of {er.shape[0]} x {er.shape[1]} lanes)")
    say(f"  reference   {min(ref_s):8.3f} s  -> engine / reference = {out['ratio']:.2f}x; "
        f"test accuracies agree within {diff:.4f}")
    return out

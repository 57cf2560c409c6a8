"""The baselines, one config at a time from the engine lane's initial params and batches: a
plain PyTorch loop (nn.Module, torch.optim.Adam, index batches from tensors in memory) and a
jitted JAX train step called from a Python loop (flax's MNIST example)."""
from __future__ import annotations

import time
from typing import NamedTuple

import jax
import numpy as np
import optax

from mlx.models import make_model
from mlx.train import loss_and_accuracy, make_optimizer, scale_inputs


class BaselineResult(NamedTuple):
    epoch_seconds: list      # seconds of each epoch (train + test evaluation)
    test_accuracy: list      # after each epoch
    compile_seconds: float   # JAX step: the first call; torch: warm-up steps (both excluded)
    device: str


def flax_layers(cfg, params) -> list[tuple]:
    """[(kernel [in, out], bias)] of a lane's params in flax's layout, input layer first."""
    if cfg.model == "logreg":
        return [(params["b"], params["b0"])]
    return [(params[f"hidden_{i}"]["kernel"], params[f"hidden_{i}"]["bias"])
            for i in range(len(cfg.hidden))] + [(params["out"]["kernel"], params["out"]["bias"])]


class TorchLoop:
    """One config in plain PyTorch: its model built from the engine lane's layers, the task's
    tensors in device memory (uint8 inputs, like the engine's device copy), an epoch of index
    batches, and the test accuracy. CUDA when JAX is on a GPU and torch sees one."""

    def __init__(self, cfg, td, params, orders: np.ndarray):
        import torch
        self.cfg, self.k_out, self.layers = cfg, td.k_out, flax_layers(cfg, params)
        self.dev = torch.device("cuda" if jax.default_backend() == "gpu" and torch.cuda.is_available() else "cpu")
        self.sync = torch.cuda.synchronize if self.dev.type == "cuda" else (lambda: None)
        self.x_tr = torch.tensor(td.x_train, device=self.dev)
        self.y_tr = torch.tensor(td.y_train.astype(np.int64), device=self.dev)
        self.x_te = torch.tensor(td.x_test, device=self.dev)
        self.y_te = torch.tensor(td.y_test.astype(np.int64), device=self.dev)
        self.orders = torch.tensor(orders.astype(np.int64), device=self.dev)

    def build(self):
        import torch
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh,
               "gelu": lambda: torch.nn.GELU(approximate="tanh")}[self.cfg.activation]
        mods = []
        for i, (w, b) in enumerate(self.layers):
            lin = torch.nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.tensor(np.array(np.asarray(w).T)))
                lin.bias.copy_(torch.tensor(np.array(b)))
            mods += [lin] + ([act()] if i < len(self.layers) - 1 else [])
        return torch.nn.Sequential(*mods).to(self.dev)

    def loss(self, out, yb):
        import torch.nn.functional as F
        if self.k_out == 1:
            return F.binary_cross_entropy_with_logits(out[:, 0], yb.float())
        return F.cross_entropy(out, yb)

    def train_epoch(self, model, opt, idx) -> None:
        model.train()
        for ib in idx:
            xb = self.x_tr[ib].float().div_(255.0)
            opt.zero_grad(set_to_none=True)
            self.loss(model(xb), self.y_tr[ib]).backward()
            opt.step()

    def evaluate(self, model) -> float:
        import torch
        correct, eb = 0, self.cfg.eval_batch_size
        with torch.no_grad():
            for s in range(0, len(self.y_te), eb):
                out = model(self.x_te[s:s + eb].float().div_(255.0))
                pred = (out[:, 0] > 0).long() if self.k_out == 1 else out.argmax(1)
                correct += int((pred == self.y_te[s:s + eb]).sum())
        return correct / len(self.y_te)


def torch_baseline(cfg, td, params, orders: np.ndarray, lr: float, wd: float) -> BaselineResult:
    """Plain PyTorch: nn.Module, torch.optim.Adam, index batches from tensors in memory.
    params: the engine lane's initial params (flax layout, kernels [in, out])."""
    import torch
    loop = TorchLoop(cfg, td, params, orders)
    # warm-up (untimed, like JAX's compilation): a few steps on a throwaway copy
    t0 = time.perf_counter()
    m = loop.build()
    loop.train_epoch(m, torch.optim.Adam(m.parameters(), lr=lr, weight_decay=wd), loop.orders[0][:5])
    loop.evaluate(m)
    loop.sync()
    warm = time.perf_counter() - t0
    model = loop.build()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)  # optax adam's defaults
    secs, accs = [], []
    for e in range(len(orders)):
        loop.sync()
        t0 = time.perf_counter()
        loop.train_epoch(model, opt, loop.orders[e])
        acc = loop.evaluate(model)   # .sum() -> int synchronises
        loop.sync()
        secs.append(time.perf_counter() - t0)
        accs.append(acc)
    return BaselineResult(secs, accs, warm, str(loop.dev))


def step_baseline(cfg, td, params, orders: np.ndarray, lr: float, wd: float, total_epochs: int
                  ) -> BaselineResult:
    """flax-MNIST style: ``@jax.jit train_step(params, opt_state, x, y)`` from a Python loop,
    batches indexed on the host (numpy) and sent each step; the test split on the device."""
    model = make_model(cfg.model, d=td.x_train.shape[1], k_out=td.k_out, hidden=cfg.hidden,
                       activation=cfg.activation, precision=cfg.precision)
    steps = orders.shape[1]
    tx = make_optimizer(cfg.optimizer, lr, wd, schedule=cfg.schedule,
                        total_steps=total_epochs * steps,
                        warmup_steps=int(round(cfg.warmup_epochs * steps)), momentum=cfg.momentum)
    k_out = td.k_out

    @jax.jit
    def train_step(params, opt_state, x, y):
        def loss(p):
            losses, correct = loss_and_accuracy(model.apply(p, scale_inputs(x)), y, k_out)
            return losses.mean(), correct.mean()
        (l, acc), grads = jax.value_and_grad(loss, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, l, acc

    @jax.jit
    def eval_step(params, x, y):
        _, correct = loss_and_accuracy(model.apply(params, scale_inputs(x)), y, k_out)
        return correct.mean()

    x_tr, y_tr = td.x_train, td.y_train.astype(np.int32)
    x_te, y_te = jax.device_put(td.x_test), jax.device_put(td.y_test.astype(np.int32))
    params = jax.device_put(params)
    opt_state = tx.init(params)
    t0 = time.perf_counter()   # first calls compile (flax recompiles per config: lr is baked in)
    ib = orders[0][0]
    jax.block_until_ready(train_step(params, opt_state, x_tr[ib], y_tr[ib]))
    jax.block_until_ready(eval_step(params, x_te, y_te))
    compile_s = time.perf_counter() - t0
    secs, accs = [], []
    for e in range(len(orders)):
        t0 = time.perf_counter()
        for ib in orders[e]:
            params, opt_state, _, _ = train_step(params, opt_state, x_tr[ib], y_tr[ib])
        accs.append(float(eval_step(params, x_te, y_te)))   # float() waits for the device
        secs.append(time.perf_counter() - t0)
    return BaselineResult(secs, accs, compile_s, str(jax.devices()[0]))

"""Tasks: a filter plus a relabel over a :class:`mlx.data.dataset.Dataset`.

* ``AvB`` (e.g. ``0v1``, ``4v9``): only digits A and B; label 1 means "is a B".
* ``Nvrest`` (e.g. ``4vrest``): all digits; label 1 means "is an N" (one filter must cover
  every way of writing it).
* ``digits``: all ten classes.
* ``labels``: the dataset's own labels as they are (tabular data, e.g. a CSV).
"""
from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from mlx.data.dataset import Dataset
from mlx.errors import ConfigError, DataError

TASK_FORMS = "0v1, 4vrest, 4v9, digits, labels, or the general forms AvB and Nvrest (A, B, N digits)"


class Task(NamedTuple):
    """name: as written; kind: 'pair' | 'rest' | 'digits' | 'labels'; a, b: the digits involved."""

    name: str
    kind: str
    a: int = -1
    b: int = -1

    @property
    def binary(self) -> bool:
        return self.kind in ("pair", "rest")

    @property
    def class_names(self) -> tuple[str, ...] | None:
        if self.kind == "pair":
            return (str(self.a), str(self.b))
        if self.kind == "rest":
            return (f"not {self.b}", str(self.b))
        if self.kind == "digits":
            return tuple(str(i) for i in range(10))
        return None


class TaskData(NamedTuple):
    """Arrays ready for training.

    x_train: uint8[n, d] pixels (scaled to [0, 1] inside the compiled program) or float32[n, d]
             standardised features; y_train: int32[n] in 0..num_classes-1.
    k_out: 1 for binary tasks (one logit), num_classes otherwise.
    balance: {"train": [count per class], "test": [...]}.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: Task
    num_classes: int
    class_names: tuple[str, ...]
    balance: dict
    image_shape: tuple[int, int] | None
    source: str
    name: str
    styles: object = None          # mlx.styles.StyleClusters of the target digit (Nvrest images)
    test_style: np.ndarray = None  # int32[n_test]: style of each test example of the digit, -1 others

    @property
    def n_styles(self) -> int:
        return 0 if self.styles is None else int(self.styles.k)

    @property
    def k_out(self) -> int:
        return 1 if self.num_classes == 2 else self.num_classes

    def describe(self) -> str:
        def fmt(counts):
            n = sum(counts)
            return " ".join(f"{c}:{k} ({k / max(n, 1):.1%})" for c, k in zip(self.class_names, counts))
        return (f"task {self.task.name} on {self.source}:{self.name}: train {len(self.y_train)} "
                f"[{fmt(self.balance['train'])}], test {len(self.y_test)} [{fmt(self.balance['test'])}]")


def parse_task(name: str) -> Task:
    """'0v1' -> Task('0v1', 'pair', 0, 1); '4vrest' -> Task('4vrest', 'rest', b=4); ..."""
    s = str(name).strip()
    if s in ("digits", "labels"):
        return Task(s, s)
    m = re.fullmatch(r"(\d)v(\d)", s)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if a == b:
            raise ConfigError(f"task {s!r} compares a digit with itself; allowed: {TASK_FORMS}")
        return Task(s, "pair", a, b)
    m = re.fullmatch(r"(\d)vrest", s)
    if m:
        return Task(s, "rest", b=int(m.group(1)))
    raise ConfigError(f"unknown task {s!r}; allowed: {TASK_FORMS}")


def _relabel(task: Task, x: np.ndarray, y: np.ndarray, split: str):
    if task.kind == "pair":
        keep = (y == task.a) | (y == task.b)
        return x[keep], (y[keep] == task.b).astype(np.int32)
    if task.kind == "rest":
        return x, (y == task.b).astype(np.int32)
    return x, y.astype(np.int32)


def apply_task(task: Task | str, ds: Dataset, *, styles: bool = True) -> TaskData:
    """Filter and relabel ``ds`` for ``task``; check labels and that no class is empty. styles:
    False leaves an Nvrest task's styles out (:func:`find_styles`, most of its cost: the pixels
    and shapes alone, e.g. to compile for them while the styles are found)."""
    task = parse_task(task) if isinstance(task, str) else task
    for split, y in (("train", ds.y_train), ("test", ds.y_test)):
        if y.size and task.kind != "labels" and (y.min() < 0 or y.max() > 9):
            bad = y[(y < 0) | (y > 9)][0]
            raise DataError(f"label {int(bad)} in the {split} split is outside task {task.name!r}, "
                            f"which needs digit labels 0-9; use task=labels for other labels")
    x_tr, y_tr = _relabel(task, ds.x_train, ds.y_train, "train")
    x_te, y_te = _relabel(task, ds.x_test, ds.y_test, "test")
    if task.kind == "labels":
        k = int(max(y_tr.max(initial=-1), y_te.max(initial=-1))) + 1
        if min(y_tr.min(initial=0), y_te.min(initial=0)) < 0:
            raise DataError("task=labels needs labels 0..K-1; found a negative label")
        names = tuple(str(i) for i in range(k))
    else:
        names = task.class_names
        k = len(names)
    if k < 2:
        raise DataError(f"task {task.name!r} has fewer than two classes in the data")
    balance = {s: np.bincount(y, minlength=k).tolist() for s, y in (("train", y_tr), ("test", y_te))}
    for split, counts in balance.items():
        empty = [names[i] for i, c in enumerate(counts) if c == 0]
        if empty:
            raise DataError(f"class {empty[0]!r} of task {task.name!r} has no examples in the "
                            f"{split} split of {ds.source}:{ds.name}; pick a task whose classes occur")
    if x_tr.dtype != np.uint8:  # tabular features: standardise with the training split only
        x_tr = x_tr.astype(np.float32)
        x_te = x_te.astype(np.float32)
        if not (np.isfinite(x_tr).all() and np.isfinite(x_te).all()):
            raise DataError("features contain NaN or inf; clean them or use missing=drop|mean")
        mu, sd = x_tr.mean(0), x_tr.std(0)
        sd = np.where(sd > 0, sd, 1.0).astype(np.float32)
        x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    found, test_style = None, None
    if styles and task.kind == "rest" and ds.image_shape is not None and x_tr.dtype == np.uint8:
        found, test_style = find_styles(x_tr, y_tr, x_te, y_te)
    return TaskData(x_tr, y_tr, x_te, y_te, task, k, names, balance, ds.image_shape,
                    ds.source, ds.name, found, test_style)


STYLE_SEED = 0  # the styles are a property of the data, never of a run's seed
_STYLE_CACHE: dict = {}


def find_styles(x_tr, y_tr, x_te, y_te):
    """The styles of the target digit (label 1 of an Nvrest task), found once from its training
    examples (mlx.styles.cluster_styles: k-means on PCA, k by silhouette, seed STYLE_SEED), and
    the style of each test example of the digit (nearest style mean; -1 for the others).
    (None, None) when the digit has too few training examples to cluster."""
    import hashlib

    from mlx.styles import assign_styles, cluster_styles
    raw = np.ascontiguousarray(x_tr[y_tr == 1])
    if len(raw) < 10:
        return None, None
    key = hashlib.blake2b(raw.tobytes(), digest_size=16).hexdigest()
    if key not in _STYLE_CACHE:  # the same data in one process: cluster once
        if len(_STYLE_CACHE) > 8:
            _STYLE_CACHE.clear()
        _STYLE_CACHE[key] = cluster_styles(raw.astype(np.float32) / 255.0, seed=STYLE_SEED)
    cl = _STYLE_CACHE[key]
    test_style = np.full(len(y_te), -1, np.int32)
    te = y_te == 1
    test_style[te] = assign_styles(x_te[te].astype(np.float32) / 255.0, cl.means)
    return cl, test_style

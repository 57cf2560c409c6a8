"""The allowed values of every choice key, in one place (no imports: config, models, data and
the CSV loader all read them from here)."""

MODELS = ("logreg", "mlp")
ACTIVATIONS = ("relu", "tanh", "gelu")
PRECISIONS = ("float32", "bfloat16")
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "warmup_cosine")
SOURCES = ("auto", "idx", "tfds", "sample", "csv")
MISSING = ("error", "drop", "mean")
WANDB_MODES = ("offline", "online", "disabled")

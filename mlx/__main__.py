from mlx.cli import entry

entry()

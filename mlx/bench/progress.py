"""``say``: the benchmark's progress lines on stdout, flushed as they come."""


def say(*a) -> None:
    print(*a, flush=True)

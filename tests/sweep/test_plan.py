"""The chunk plan (mlx/sweep/plan.py): a pure function of the lanes, the chunk size and the device
count that covers every lane once, in chunks of one shape whose rows share a seed."""
from mlx.sweep.plan import Chunk, plan_chunks


def test_plan_is_a_pure_function_covering_every_lane_once():
    lanes = [(lr, 0.0, s) for s in (0, 1, 2) for lr in (0.1, 0.01, 0.001, 1e-4, 1e-5)] + [(0.5, 0.0, 7)]
    plan = plan_chunks(lanes, 8, 2)
    assert plan == plan_chunks(list(lanes), 8, 2)
    assert sorted(li for ch in plan for li in ch.lanes) == list(range(len(lanes)))
    assert len({(ch.height, ch.width) for ch in plan}) == 1  # one compiled program per group
    for ch in plan:
        assert ch.height % 2 == 0 and ch.height * ch.width <= 16
        for row in ch.rows:  # a row's lanes share a seed
            assert len({lanes[li][2] for li in row}) == 1
    assert plan_chunks(lanes, 8, 1, single=True)[0] == Chunk(((0,),), 1, 1)

"""mlx.bench.scaling in the quick run: the scaling curve and the big sweep."""


def test_scaling_curve_and_big_sweep(quick):
    _, res, _, _ = quick
    for model in ("logreg", "mlp"):
        sc = res["scaling"]["models"][model]
        assert [p["configs"] for p in sc["points"]] == [1, 2, 4]
        assert all(p["seconds_per_config_epoch"] > 0 for p in sc["points"])
        assert sc["auto_chunk"] >= 1 and isinstance(sc["auto_single"], bool)
        assert sc["cpu_rule"] is not None and sc["cpu_rule"]["applies"] == sc["auto_single"]
    big = res["big"]
    assert big["configs"] == 8 and big["chunks"] >= 1 and big["configs_per_second"] > 0
    assert 0.5 < big["best"]["test_accuracy"] <= 1.0

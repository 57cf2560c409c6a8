"""results.jsonl, the sweep folder's append log (mlx/sweep/folder.py): a line a kill cut in half
never hides the rows appended after it. Kill -9 during a whole sweep is in tests/track/test_files.py."""
import json


def test_the_row_appended_after_a_cut_line_is_readable(tmp_path):
    from mlx.sweep.folder import append_rows, load_done
    from mlx.train import METRICS

    def row(cid):
        return {"config_id": cid, "index": 0, "name": cid, "history": {}, "diverged": False,
                **{k: 0.5 for k in METRICS}}
    jsonl = tmp_path / "results.jsonl"
    jsonl.write_text(json.dumps(row("a")) + "\n" + '{"config_id": "b", "x"')
    append_rows(jsonl, [row("b")])
    assert set(load_done(jsonl)) == {"a", "b"}

"""mlx.viz.report_html: the report's markdown (markdown-it-py) and table cells, escaped, with no URL."""
from __future__ import annotations

from mlx.viz.report_html import cell, data_table, esc, kv_table, markdown_to_html


def test_markdown_tables():
    out = markdown_to_html("| a | b \\| c |\n|:--|--:|\n| 1 | <x> |\n\n- item **one**\n")
    assert out.count("<table") == 1 and ">a<" in out and ">b | c<" in out
    assert "&lt;x&gt;" in out and "<li>item <b>one</b></li>" in out
    assert 'data-v="1"' in out and 'class="sortable"' in out


def test_markdown_headings_paragraphs_and_no_links():
    out = markdown_to_html("# Top\n\n## Next\n\nThe **mlp** wins by `0.0079`.\n\n"
                           "<b>raw</b> <https://example.org> [a](http://x.org/y) ![i](http://q/i.png)\n")
    assert "<h3>Top</h3>" in out and "<h4>Next</h4>" in out
    assert "<p>The <b>mlp</b> wins by <code>0.0079</code>.</p>" in out
    assert "<b>raw</b>" not in out and "&lt;b&gt;raw&lt;/b&gt;" in out  # raw HTML is text
    assert "://" not in out and "<a " not in out and "<img" not in out  # never a link or an image


def test_cells_and_tables():
    assert cell("0.123456789") == {"text": "0.123456789", "link": None, "num": True, "shown": "0.123457"}
    assert cell(" 12 ")["shown"] == "12" and not cell("abc")["num"]
    table = data_table(["name", "test_accuracy"], [["a", "0.5"], ["b", "0.9"], ["c", "nan"]],
                       best_column="test_accuracy", links={"b": "run-b"}, link_column="name")
    assert table.count('class="best"') == 1 and '<a href="#run-b">b</a>' in table
    assert '<td class="num" data-v="0.123456789" title="0.123456789">0.123457</td>' in data_table(
        ["x"], [["0.123456789"]])
    kv = kv_table([("note", "<script> see https://e.org"), ("n", 3)])
    assert "&lt;script&gt;" in kv and "://" not in kv and ">note<" in kv and 'data-v="3"' in kv
    assert esc("a://b \"q\"") == "a:&#47;&#47;b &quot;q&quot;"

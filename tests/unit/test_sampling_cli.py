"""`mom quality plan`: the plan in Chinese; a bad AQL exits 1 naming the value and the allowed ones.
Example: lot 500, level II, AQL 2.5 → H, 50, Ac 3 / Re 4 (http://www.nibs.org/FMOC/DPW_AC/AC-TABLE.ASC)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from mom.platform.cli.main import main


def test_quality_plan_in_chinese_and_json():
    runner = CliRunner()
    out = runner.invoke(main, ["quality", "plan", "--lot-size", "500", "--aql", "2.5"])
    assert out.exit_code == 0, out.output
    assert "样本量 / sample size：50" in out.output and "接收数 Ac：3" in out.output and "拒收数 Re：4" in out.output
    out = runner.invoke(main, ["quality", "plan", "--lot-size", "125", "--aql", "1.0", "--level", "III",
                               "--severity", "reduced", "--json"])
    body = json.loads(out.output)
    assert (body["code_letter"], body["sample_size"], body["ac"], body["re"], body["resolved_from"]) == ("J", 32, 1, 2, "G→H→J")


def test_quality_plan_bad_aql():
    out = CliRunner().invoke(main, ["quality", "plan", "--lot-size", "500", "--aql", "2.0"])
    assert out.exit_code == 1
    assert "2.0" in out.output and "2.5" in out.output and "接收质量限" in out.output

"""`sfpatch run --headless` end to end on an embedded simulator moved by the run itself."""

from __future__ import annotations

import json

from tui.cli import main


def run(tmp_path, *args: str) -> int:
    return main(["run", "--scenario", "seed", "--transcript-dir", str(tmp_path), *args])


def transcript(tmp_path) -> list[dict]:
    (path,) = (tmp_path / "contoso-prod").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_headless_run_patches_a_node_and_exits_0(tmp_path, capsys):
    code = run(tmp_path, "--headless", "--yes", "--nodes", "_FrontEnd_4", "--poll", "30")
    out = capsys.readouterr().out
    assert code == 0
    steps = [line.split()[2] for line in out.splitlines() if line.startswith(("1", "2", "0"))]
    assert steps[:2] == ["gates", "disable"] and steps[-2:] == ["settle", "done"]
    assert "done: 1 patched" in out
    records = transcript(tmp_path)
    assert records[-2]["data"]["reason"] == "headless run done"
    assert main(["verify", str(next((tmp_path / "contoso-prod").glob("*.jsonl")))]) == 0
    confirms = [r["data"] for r in records if r["kind"] == "confirm"]
    assert confirms and all(c["confirmed_by"] == "--yes" for c in confirms)


def test_legacy_pauses_before_any_disable_naming_the_containers(tmp_path, capsys):
    code = run(tmp_path, "--headless", "--yes", "--node-type", "Legacy")
    captured = capsys.readouterr()
    assert code == 3
    assert "sf-billing-api-legacy-0" in captured.err and "Hyper-V" in captured.err
    assert "--override containers-survive-patch:_Legacy_0" in captured.err
    assert not [r for r in transcript(tmp_path) if r["kind"] == "intent"]


def test_without_yes_a_headless_run_refuses_before_connecting(tmp_path, capsys):
    assert run(tmp_path, "--headless", "--node-type", "FrontEnd") == 2
    assert "--yes" in capsys.readouterr().err
    assert not (tmp_path / "contoso-prod").exists()


def test_bad_plan_options_are_one_line_errors(tmp_path, capsys):
    assert run(tmp_path, "--headless", "--yes", "--node-type", "Nope") == 2
    err = capsys.readouterr().err
    assert "no node type Nope" in err and "Traceback" not in err
    assert run(tmp_path, "--settle", "-5") == 2  # the console checks plan options too
    assert run(tmp_path, "--headless", "--yes", "--override", "nonsense") == 2


def test_read_only_prints_the_plan_and_gates_and_sends_nothing(tmp_path, capsys):
    code = run(tmp_path, "--headless", "--read-only")
    out = capsys.readouterr().out
    assert code == 0
    assert "gate  _Legacy_0  containers-survive-patch  FAIL" in out
    assert "plan  _FrontEnd_0  would patch it" in out
    assert not [r for r in transcript(tmp_path) if r["kind"] in ("intent", "confirm")]


def test_a_strategy_per_node_type_comes_from_the_scenario_and_can_be_overridden(tmp_path, capsys):
    from tui.sim.scenario import SCENARIO_DIR

    text = (SCENARIO_DIR / "seed.toml").read_text()
    marker = 'name = "FrontEnd"\n'
    scenario = tmp_path / "reimaged.toml"
    scenario.write_text(text.replace(marker, marker + 'strategy = "reimage"\n', 1))
    base = ["run", "--scenario", str(scenario), "--transcript-dir", str(tmp_path / "t")]
    assert main([*base, "--headless", "--read-only", "--nodes", "_FrontEnd_3"]) == 0
    assert "plan  _FrontEnd_3  UD 3  reimage" in capsys.readouterr().out
    forced = [*base, "--headless", "--read-only", "--nodes", "_FrontEnd_3", "--strategy", "manual"]
    assert main(forced) == 0
    assert "plan  _FrontEnd_3  UD 3  manual" in capsys.readouterr().out
    scenario.write_text(text.replace(marker, marker + 'strategy = "prayer"\n', 1))
    assert main([*base, "--headless", "--read-only"]) == 2
    assert "strategy" in capsys.readouterr().err

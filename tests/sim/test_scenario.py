"""Scenario files: the shipped ones load; bad ones name the file and key; `sfpatch sim` refuses
bad input with one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui import cli
from tui.errors import ScenarioError, UsageError
from tui.sim.clock import SimClock
from tui.sim.scenario import SCENARIO_DIR, load_scenario
from tui.sim.state import SimCluster

SEED = (SCENARIO_DIR / "seed.toml").read_text(encoding="utf-8")


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edited(old: str, new: str) -> str:
    assert SEED.count(old) >= 1, old
    return SEED.replace(old, new, 1)


def test_the_shipped_scenarios_load():
    seed = load_scenario("seed")
    assert seed.cluster_name == "contoso-prod" and len(seed.node_types) == 2


def test_large_is_a_thousand_nodes_in_ten_upgrade_domains():
    scenario = load_scenario("large")
    cluster = SimCluster(scenario, SimClock(0))
    nodes = list(cluster.nodes.values())
    assert len(nodes) == 1000 and len(scenario.node_types) == 4
    assert {n.upgrade_domain for n in nodes} == {str(i) for i in range(10)}
    assert sum(len(n.containers) for n in nodes) / len(nodes) == pytest.approx(10, abs=1)
    assert len({n.address for n in nodes}) == 1000


@pytest.mark.parametrize(
    "old, new, where, says",
    [
        (
            'durability = "Silver"',
            'durability = "Platinum"',
            "node_types[0].durability",
            "must be one of Bronze, Silver, Gold",
        ),
        (
            'location = "westeurope"',
            'location = "westeurope"\nregion = "x"',
            "cluster.region",
            "unknown key",
        ),
        ('name = "contoso-prod"\n', "", "cluster.name", "required key is missing"),
        (
            'image = "contoso/web:4.1"',
            'image = "contoso/web:9.9"',
            "node_types[0].containers[0].image",
            "no [[images]] entry has ref 'contoso/web:9.9'",
        ),
        (
            'host_version = "10.0.17763.6054"',
            'host_version = "ten"',
            "node_types[0].host_version",
            "not a Windows version",
        ),
        (
            'host_version = "10.0.17763.6054"',
            'host_version = "10.0.17763"',
            "node_types[0].host_version",
            "needs the revision",
        ),
        (
            "instance = 4\n",
            "instance = 5\n",
            "node_types[0].hosts[0].instance",
            "instance 5 does not exist",
        ),
        (
            "instances = [0, 1]",
            "instances = [0, 7]",
            "node_types[0].containers[2].instances",
            "instance 7 does not exist",
        ),
        (
            "seed_instances = [0, 1, 2]",
            "seed_instances = [0, 9]",
            "node_types[0].seed_instances",
            "instance 9 does not exist",
        ),
        ("format = 1", "format = 2", "format", "this sfpatch reads format 1"),
        (
            "upgrade_domains = 5",
            "upgrade_domains = 0",
            "cluster.upgrade_domains",
            "must be a whole number from 1 to 100 (got 0)",
        ),
        ("restart = 90", "restart = -1", "timing.restart", "must be a number from 0 to 604800"),
        ("restart = 90", "restart = inf", "timing.restart", "must be a finite number from 0"),
        ("restart = 90", "restart = nan", "timing.restart", "(got nan)"),
        ("restart = 90", "restart = 1e308", "timing.restart", "from 0 to 604800 (got 1e+308)"),
        ('name = "contoso-prod"', 'name = "a/b"', "cluster.name", "not a valid cluster name 'a/b'"),
        ('name = "contoso-prod"', 'name = ""', "cluster.name", "use 1 to 64 ASCII letters"),
        ('name = "FrontEnd"', 'name = "Front End"', "node_types[0].name", "node type name"),
        ('name = "FrontEnd"', 'name = "Fr\u00f6ntEnd"', "node_types[0].name", "ASCII"),
        ("instance = 4\n", "instance = -1\n", "node_types[0].hosts[0].instance", "from 0"),
        ("seed = 7", "seed = -1", "cluster.seed", "must be a whole number from 0"),
        ("format = 1", "format = 0x" + "f" * 4000, "format", "got a 16000-bit number"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, old, new, where, says):
    path = write(tmp_path, edited(old, new))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(path))
    message = str(exc.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert says in message and "\n" not in message


def test_invalid_toml_names_the_line(tmp_path):
    path = write(tmp_path, edited("[timing]", "[timing"))
    with pytest.raises(ScenarioError) as exc:
        load_scenario(str(path))
    line = SEED.splitlines().index("[timing]              # simulated seconds") + 1
    assert str(exc.value).startswith(f"{path}: invalid TOML") and f"line {line}," in str(exc.value)


def test_a_missing_file_and_an_unknown_name(tmp_path):
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(str(tmp_path / "absent.toml"))
    with pytest.raises(UsageError, match="unknown scenario 'nope'.*large.*seed"):
        load_scenario("nope")


# ------------------------------------------------------------------ `sfpatch sim`


def sim_cli(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["sim", *args])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize(
    "args, says",
    [
        (["--fault", "melt-down:1"], "unknown fault 'melt-down'"),
        (["--fault", "no-return"], "needs an argument"),
        (["--fault", "gateway-slow:fast"], "whole number"),
        (["--fault", "arm-fail:explode"], "operation must be one of"),
        (["--fault", "stuck-disabling:_Nope_9"], "no node named _Nope_9"),
        (["--speed", "-1"], "--speed must be a number from 0 to 10000 (got -1.0)"),
        (["--speed", "nan"], "--speed must be a finite number from 0 to 10000 (got nan)"),
        (["--speed", "inf"], "--speed must be a finite number from 0 to 10000 (got inf)"),
        (["--speed", "1e308"], "--speed must be a number from 0 to 10000 (got 1e+308)"),
        (["--seed", "-3"], "--seed must be a whole number from 0 to"),
        (["--fault", "gateway-slow:\uff11\uff12"], "from 0 to 60000"),
        (["--fault", "gateway-slow:\u00b2"], "whole number"),
        (["--fault", "gateway-slow:99999999999999"], "from 0 to 60000"),
        (["--start", "yesterday"], "--start 'yesterday': not an ISO 8601 time"),
        (["--scenario", "nope"], "unknown scenario"),
    ],
)
def test_sim_refuses_bad_input_with_one_line_and_exit_2(tmp_path, capsys, args, says):
    code, err = sim_cli(capsys, "--state-dir", str(tmp_path / "sim"), *args)
    assert code == 2
    assert err.startswith("sfpatch: error: ") and says in err and "\n" not in err


def test_sim_refuses_a_bad_scenario_file_with_one_line(tmp_path, capsys):
    path = write(tmp_path, edited('durability = "Bronze"', 'durability = "Tin"'))
    code, err = sim_cli(capsys, "--state-dir", str(tmp_path / "sim"), "--scenario", str(path))
    assert code == 2 and f"{path}: node_types[1].durability" in err and "\n" not in err


def test_sim_refuses_a_node_fault_without_the_leading_underscore(tmp_path, capsys):
    from tui.cli import main

    code = main(["sim", "--state-dir", str(tmp_path), "--fault", "no-return:FrontEnd_0"])
    assert code == 2
    assert "no node named FrontEnd_0" in capsys.readouterr().err

"""`sfpatch check` exit codes and output, against the simulator over real TLS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tui.cli import main
from tui.sim.faults import parse_fault
from tui.sim.server import SimServer

# One node type whose hosts, images and scale set settings give the rules nothing to object to.
CLEAN = """
format = 1
[cluster]
name = "tidy"

[[images]]
ref = "tidy/web:1.0"
os_version = "10.0.17763.8880"
created = "2026-06-10T00:00:00Z"

[[node_types]]
name = "Web"
instances = 2
durability = "Silver"
is_primary = true
host_version = "10.0.17763.8880"

[node_types.scale_set]
automatic_os_upgrade = true
enable_automatic_updates = false
patch_mode = "AutomaticByOS"
image = { sku = "2019-Datacenter-with-Containers", version = "latest" }

[[node_types.containers]]
name = "web"
image = "tidy/web:1.0"
application = "fabric:/Web"
"""


def check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def with_profile(sim: SimServer, *argv: str) -> list[str]:
    return ["--profile", "contoso-prod", "--config", str(sim.profile_path), *argv]


def test_seed_fails_on_the_legacy_patch(sim: SimServer, capsys) -> None:
    code, out, err = check(capsys, *with_profile(sim))
    assert code == 1, err
    assert out.startswith("contoso-prod (https://127.0.0.1:")
    assert "8 nodes, 2 scale sets, 8 engines" in out.splitlines()[0]
    errors = out.split("\nERROR (")[1].split("\n\n")[0]
    assert "_Legacy_0" in errors and "predict.patch-stops-containers" in errors


def test_target_option_overrides_the_profile(sim: SimServer, capsys) -> None:
    # Legacy patched to the revision its images were built on: nothing stops.
    code, out, _ = check(capsys, *with_profile(sim, "--target", "Legacy=10.0.14393.1770", "--json"))
    report = json.loads(out)
    assert not [f for f in report["findings"] if f["rule_id"] == "predict.patch-stops-containers"]
    assert report["failed"] is (code == 1)


def test_json_report(sim: SimServer, capsys) -> None:
    code, out, _ = check(capsys, *with_profile(sim, "--json"))
    report = json.loads(out)
    assert code == 1 and report["failed"] is True and report["fail_on"] == "error"
    assert report["nodes"] == 8 and report["errors"] == []
    severities = [f["severity"] for f in report["findings"]]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def test_clean_scenario_passes_but_fails_on_warnings(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "tidy.toml"
    scenario.write_text(CLEAN)
    code, out, err = check(capsys, "--scenario", str(scenario))
    assert code == 0, out + err
    assert "tidy" in out and "ERROR" not in out
    # The simulator's frozen date (2026-11-26) puts these June 2026 hosts 5 months behind.
    code, out, _ = check(capsys, "--scenario", str(scenario), "--fail-on", "warning")
    assert code == 1
    assert "\nWARNING (2)\n  _Web_0: Host 10.0.17763.8880" in out


def test_engine_down_is_reported_not_fatal(sim: SimServer, capsys) -> None:
    sim.cluster.faults.add(parse_fault("engine-down:_FrontEnd_1"))
    code, out, _ = check(capsys, *with_profile(sim, "--json"))
    report = json.loads(out)
    assert report["engines"] == 7
    [unavailable] = [
        f for f in report["findings"] if f["rule_id"] == "inventory.source-unavailable"
    ]
    assert unavailable["node"] == "_FrontEnd_1" and unavailable["source"] == "docker"


def test_unreadable_gateway_exits_1(sim: SimServer, capsys) -> None:
    sim.cluster.faults.add(parse_fault("gateway-flaky:1"))
    code, out, err = check(capsys, *with_profile(sim))
    assert code == 1 and out == ""
    assert err.startswith("sfpatch: error: cannot read the cluster's nodes from https://")
    assert ": list nodes: " in err and len(err.splitlines()) == 1


def test_unknown_profile_exits_2(sim: SimServer, capsys) -> None:
    code, _, err = check(capsys, "--profile", "nope", "--config", str(sim.profile_path))
    assert code == 2
    known = "no such profile (known: contoso-prod)"
    assert err == f"sfpatch: error: {sim.profile_path}: clusters.nope: {known}\n"


def test_bad_profile_file_names_the_key(sim: SimServer, tmp_path: Path, capsys) -> None:
    bad = tmp_path / "profiles.toml"
    bad.write_text(sim.profile_path.read_text().replace("concurrency =", "concurency ="))
    code, _, err = check(capsys, "--profile", "contoso-prod", "--config", str(bad))
    assert code == 2
    assert (
        err == f"sfpatch: error: {bad}: clusters.contoso-prod.inventory.concurency: unknown key\n"
    )


def test_missing_profile_file_exits_2(tmp_path: Path, capsys) -> None:
    code, _, err = check(capsys, "--profile", "x", "--config", str(tmp_path / "none.toml"))
    assert (code, err) == (2, f"sfpatch: error: {tmp_path / 'none.toml'}: no such file\n")


@pytest.mark.parametrize("target", ["Legacy", "Legacy=", "=10.0.14393.1944", "Legacy=10.0.14393"])
def test_malformed_target_exits_2(sim: SimServer, capsys, target: str) -> None:
    code, out, err = check(capsys, *with_profile(sim, "--target", target))
    assert code == 2 and out == ""
    assert err.startswith(f"sfpatch: error: --target {target!r}: ") and err.count("\n") == 1


def test_target_for_an_unknown_node_type_exits_2(capsys) -> None:
    code, out, err = check(capsys, "--scenario", "seed", "--target", "Nope=10.0.14393.1944")
    assert code == 2 and out == ""
    assert err == (
        "sfpatch: error: --target Nope=...: contoso-prod has no node type 'Nope' "
        "(known: FrontEnd, Legacy)\n"
    )


def test_unknown_scenario_exits_2(capsys) -> None:
    code, _, err = check(capsys, "--scenario", "no-such-scenario")
    assert code == 2 and err.startswith("sfpatch: error: unknown scenario 'no-such-scenario'")


def test_profile_or_scenario_is_required(capsys) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["check"])
    assert caught.value.code == 2
    assert "one of the arguments --profile --scenario is required" in capsys.readouterr().err


def test_durability_mismatch_between_cluster_and_extension(tmp_path, capsys):
    from tui.cli import main
    from tui.sim.scenario import SCENARIO_DIR

    seed = (SCENARIO_DIR / "seed.toml").read_text()
    mismatched = seed.replace(
        'sf_extension_version = "1.1"\nimage = { sku = "2019',
        'sf_extension_version = "1.1"\nsf_durability = "Bronze"\nimage = { sku = "2019',
    )
    assert mismatched != seed
    scenario = tmp_path / "mismatch.toml"
    scenario.write_text(mismatched)
    main(["check", "--scenario", str(scenario), "--json"])
    report = json.loads(capsys.readouterr().out)
    rules = {(f["rule_id"], f["subject"]) for f in report["findings"]}
    assert ("config.durability-mismatch", "FrontEnd") in rules


def test_a_finding_that_names_its_subject_first_is_printed_once(sim: SimServer, capsys) -> None:
    _, out, _ = check(capsys, *with_profile(sim))
    assert "\n  FrontEnd: enableAutomaticUpdates is true with automatic OS upgrade on" in out
    assert "FrontEnd: FrontEnd:" not in out and "Legacy: Legacy:" not in out
    # A message that does not start with its subject keeps the subject in front.
    assert "\n  _Legacy_0: Host 10.0.14393.1770 (KB4041691, 2017-10) is 109 month(s) behind" in out


def test_a_target_that_breaks_nothing_leaves_only_setting_errors(sim: SimServer, capsys) -> None:
    # A host years behind is security debt (a warning); what still fails is the seed's two
    # scale set settings that automatic OS upgrade forbids.
    code, out, _ = check(capsys, *with_profile(sim, "--target", "Legacy=10.0.14393.1770", "--json"))
    errors = {f["rule_id"] for f in json.loads(out)["findings"] if f["severity"] == "error"}
    assert errors == {"config.auto-updates-with-auto-os-upgrade", "config.auto-os-upgrade-bronze"}
    assert code == 1


def test_check_holds_only_clients_that_read(sim: SimServer, capsys, monkeypatch) -> None:
    """A bug in check that tried to act through its inventory would be refused below the SDK."""
    from tui.cluster import inventory as inventory_module
    from tui.errors import ReadOnlyError

    gather = inventory_module.gather
    refused = []

    def gather_after_a_mutation(inventory, progress=None):
        group = inventory.profile.arm.resource_group
        docker_conn = inventory_module.engine_connection(inventory.profile, "127.0.0.1")
        for mutate in (
            lambda: inventory.fabric.disable_node("_Legacy_0", deactivation_intent="Restart"),
            lambda: inventory.compute.virtual_machine_scale_set_vms.begin_restart(
                group, "Legacy", "0"
            ),
            lambda: (
                inventory.engine_cache.open(docker_conn)
                .connection()
                .request("POST", "/v1.41/containers/create")
            ),
        ):
            with pytest.raises(ReadOnlyError):
                mutate()
            refused.append(mutate)
        return gather(inventory, progress)

    monkeypatch.setattr(inventory_module, "gather", gather_after_a_mutation)
    code, out, err = check(capsys, *with_profile(sim))
    assert code == 1 and "8 nodes, 2 scale sets, 8 engines" in out, err
    assert len(refused) == 3
    log = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    assert {json.loads(line)["method"] for line in log} == {"GET"}

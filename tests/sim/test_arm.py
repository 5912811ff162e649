"""azure-mgmt-compute 39 against the ARM simulator over TLS: routes, LROs, paging, patching.

LRO pollers run with polling_interval=0: each test advances the frozen clock by the
operation's duration before it calls .result(), so the first status poll after that sees the end.
"""

from __future__ import annotations

import json

import pytest
import requests
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from tui.cluster import compute
from tui.cluster.gateway import Gateway, ReadOnlyGateway
from tui.errors import ClusterError, ReadOnlyError
from tui.sim import arm, arm_scripts
from tui.sim.faults import ARM_OPERATIONS, Fault

UBR_SCRIPT = "(Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion').UBR"
INSTALL_SCRIPT = [
    "Install-Module PSWindowsUpdate -Force",
    "Install-WindowsUpdate -AcceptAll -AutoReboot",
]


@pytest.fixture
def conn(sim):
    return compute.connection_from_endpoints(sim.endpoints["arm"], polling_interval=0)


@pytest.fixture
def client(conn):
    return compute.build_client(conn)


@pytest.fixture
def gateway(client, conn, fabric_client):
    """A read-write gateway holding the cluster lease, as an operating session's does."""
    gw = Gateway(fabric_client, client, conn.resource_group)
    gw.acquire_lease("contoso-prod", "tester@box", "arm-tests")
    return gw


def timing(sim):
    return sim.cluster.scenario.timing


def run(client, conn, vmss, iid, script):
    body = {"commandId": "RunPowerShellScript", "script": script}
    return client.virtual_machine_scale_set_vms.begin_run_command(
        conn.resource_group, vmss, iid, body
    )


def host(sim, name):
    """The node's host version, after applying every transition that is due."""
    sim.cluster.advance()
    return str(sim.cluster.nodes[name].host_version)


def requests_log(sim):
    lines = (sim.state_dir / "requests.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def raw(sim, method, path, token="t", **kwargs):
    """A request without the SDK, to check the wire itself."""
    arm_info = sim.endpoints["arm"]
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(
        method, arm_info["endpoint"] + path, headers=headers, verify=arm_info["ca"], **kwargs
    )


def vmss_path(sim, name="", tail=""):
    s = sim.cluster.scenario
    path = f"/subscriptions/{s.subscription}/resourceGroups/{s.resource_group}"
    path += "/providers/Microsoft.Compute/virtualMachineScaleSets"
    return path + (f"/{name}" if name else "") + tail


# ------------------------------------------------------------------ reads


def test_endpoints_json_names_the_arm_endpoint(sim):
    written = json.loads(sim.endpoints_path.read_text())["arm"]
    assert set(written) == {"endpoint", "subscription", "resource_group", "ca"}
    assert written["endpoint"].startswith("https://127.0.0.1:")
    assert written["subscription"] == "8f3c2a1e-4b5d-4c6e-9f70-112233445566"
    assert written["resource_group"] == "contoso-prod-rg"


def test_scale_sets_list_and_get_carry_the_patch_settings(client, conn):
    sets = {s.name: s for s in compute.list_scale_sets(client, conn.resource_group)}
    assert set(sets) == {"FrontEnd", "Legacy"}
    front = sets["FrontEnd"]
    assert front.node_type == "FrontEnd"
    assert front.upgrade_mode == "Manual"
    assert front.automatic_os_upgrade is True
    assert front.enable_automatic_updates is True
    assert front.patch_mode == "AutomaticByOS"
    assert front.image_sku == "2019-Datacenter-with-Containers"
    assert front.image_version == "latest"
    assert front.image_exact_version == "17763.6054.240703"
    assert (front.sf_extension_version, front.sf_durability) == ("1.1", "Silver")
    assert front.capacity == 5
    legacy = compute.get_scale_set(client, conn.resource_group, "Legacy")
    assert legacy == sets["Legacy"]
    assert (legacy.sf_durability, legacy.enable_automatic_updates) == ("Bronze", False)

    sdk = client.virtual_machine_scale_sets.get(conn.resource_group, "FrontEnd")
    ext = sdk.properties.virtual_machine_profile.extension_profile.extensions[0]
    assert ext.properties.type == "ServiceFabricNode"
    assert ext.properties.settings["nodeTypeRef"] == "FrontEnd"
    policy = sdk.properties.upgrade_policy.automatic_os_upgrade_policy
    assert policy.disable_automatic_rollback is False


def test_vm_list_with_instance_view(client, conn):
    front = compute.get_scale_set(client, conn.resource_group, "FrontEnd")
    instances = compute.list_instances(client, conn.resource_group, front)
    assert [i.node_name for i in instances] == [f"_FrontEnd_{n}" for n in range(5)]
    first = instances[0]
    assert first.os_name == "Windows Server 2019 Datacenter"
    assert first.os_version == "Microsoft Windows NT 10.0.17763.0"  # no UBR, as in Azure
    assert first.power_state == "running"
    assert first.latest_model_applied is True
    assert first.provisioning_state == "Succeeded"
    assert instances[4].image_version == "17763.5576.240306"  # the instance that fell behind


def test_vm_get_and_bare_instance_view(client, conn, sim):
    vms = client.virtual_machine_scale_set_vms
    vm = vms.get(conn.resource_group, "Legacy", "1")
    assert vm.name == "Legacy_1" and vm.instance_id == "1"
    assert vm.properties.instance_view is None
    assert vm.properties.latest_model_applied is True
    view = vms.get_instance_view(conn.resource_group, "Legacy", "1")
    assert view.os_name == "Windows Server 2016 Datacenter"
    assert view.os_version == "Microsoft Windows NT 10.0.14393.0"
    assert view.platform_update_domain == 1
    assert [s.code for s in view.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert view.computer_name == "Legacy000001"
    body = raw(
        sim,
        "GET",
        vmss_path(sim, "Legacy", "/virtualMachines/1/instanceView"),
        params={"api-version": "2024-11-01"},
    ).json()
    assert "properties" not in body and body["osVersion"].endswith(".0")


def test_vm_list_read_as_json_matches_the_sdk_models(client, conn, sim, monkeypatch):
    monkeypatch.setattr(arm, "PAGE_SIZE", 2)
    sim.cluster.reboot_host("_FrontEnd_1", 0, None)  # a VM that is not running
    for name in ("FrontEnd", "Legacy"):
        scale_set = compute.get_scale_set(client, conn.resource_group, name)
        models = client.virtual_machine_scale_set_vms.list(
            conn.resource_group, name, expand="instanceView"
        )
        from_models = tuple(compute.instance_from_sdk(m, scale_set) for m in models)
        assert compute.list_instances(client, conn.resource_group, scale_set) == from_models
        assert all(i.power_state and i.os_version and i.image_version for i in from_models)
    assert compute.get_instance(client, conn.resource_group, scale_set, "1") == from_models[1]


def test_vm_list_pages_with_an_absolute_next_link(client, conn, sim, monkeypatch):
    monkeypatch.setattr(arm, "PAGE_SIZE", 2)
    front = compute.get_scale_set(client, conn.resource_group, "FrontEnd")
    instances = compute.list_instances(client, conn.resource_group, front)
    assert [i.instance_id for i in instances] == ["0", "1", "2", "3", "4"]
    pages = [r for r in requests_log(sim) if r["path"].split("?")[0].endswith("/virtualMachines")]
    assert len(pages) == 3
    assert "$skiptoken=2" in pages[1]["path"] and "api-version=" in pages[1]["path"]
    first = raw(
        sim,
        "GET",
        vmss_path(sim, "FrontEnd", "/virtualMachines"),
        params={"api-version": "2024-11-01"},
    ).json()
    assert first["nextLink"].startswith(sim.endpoints["arm"]["endpoint"] + "/subscriptions/")
    assert "api-version=2024-11-01" in first["nextLink"]


def test_vm_pages_are_decoded_once_by_us_not_by_the_pipeline_too(client, conn, monkeypatch):
    from azure.core.pipeline.policies import ContentDecodePolicy

    decoded = []
    decode = ContentDecodePolicy.deserialize_from_http_generics
    monkeypatch.setattr(
        ContentDecodePolicy,
        "deserialize_from_http_generics",
        classmethod(lambda cls, *args, **kwargs: decoded.append(args) or decode(*args, **kwargs)),
    )
    monkeypatch.setattr(arm, "PAGE_SIZE", 2)
    front = compute.get_scale_set(client, conn.resource_group, "FrontEnd")
    decoded.clear()  # the scale set's model is the SDK's, decoded by its pipeline
    assert len(compute.list_instances(client, conn.resource_group, front)) == 5
    assert decoded == []


def test_vm_list_of_a_missing_scale_set_is_arms_error(client, conn):
    from tui.model import ScaleSet

    with pytest.raises(ClusterError, match="list instances of Nope: ResourceNotFound"):
        compute.list_instances(client, conn.resource_group, ScaleSet(name="Nope", node_type="Nope"))


def test_latest_model_filter(client, conn, gateway, sim):
    gateway.set_image_version("FrontEnd", "17763.6189.240811")
    sim.clock.advance(timing(sim).arm_operation)
    vms = client.virtual_machine_scale_set_vms
    stale = vms.list(
        conn.resource_group, "FrontEnd", filter="properties/latestModelApplied eq false"
    )
    assert len(list(stale)) == 5


def test_paths_and_query_keys_are_case_insensitive_and_any_api_version_works(sim):
    path = vmss_path(sim, "frontend", "/VIRTUALMACHINES/0").lower()
    answer = raw(sim, "GET", path, params={"API-VERSION": "1999-01-01"})
    assert answer.status_code == 200
    assert answer.json()["name"] == "FrontEnd_0"


def test_errors_have_the_arm_shape(client, conn, sim):
    with pytest.raises(ResourceNotFoundError) as caught:
        client.virtual_machine_scale_sets.get(conn.resource_group, "Nope")
    assert caught.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:
        client.virtual_machine_scale_set_vms.get(conn.resource_group, "Legacy", "7")
    assert caught.value.error.code == "NotFound"
    no_token = raw(sim, "GET", vmss_path(sim), token=None, params={"api-version": "x"})
    assert no_token.status_code == 401
    assert no_token.json()["error"]["code"] == "AuthenticationFailed"
    no_version = raw(sim, "GET", vmss_path(sim))
    assert no_version.status_code == 400
    assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
    with pytest.raises(ClusterError, match="ResourceNotFound"):
        compute.get_scale_set(client, conn.resource_group, "Nope")


def test_every_request_is_logged_with_protocol_arm(client, conn, sim):
    compute.list_scale_sets(client, conn.resource_group)
    arm_lines = [r for r in requests_log(sim) if r["protocol"] == "arm"]
    assert arm_lines and arm_lines[-1]["method"] == "GET" and arm_lines[-1]["status"] == 200


# ------------------------------------------------------------------ long-running operations


def test_lro_wire_202_status_monitor_and_location(sim):
    path = vmss_path(sim, "Legacy", "/virtualMachines/2/restart")
    started = raw(sim, "POST", path, params={"api-version": "2024-11-01"})
    assert started.status_code == 202
    base = sim.endpoints["arm"]["endpoint"]
    status_url = started.headers["Azure-AsyncOperation"]
    result_url = started.headers["Location"]
    assert status_url.startswith(base) and result_url.startswith(base)
    assert "api-version=2024-11-01" in status_url
    verify = sim.endpoints["arm"]["ca"]
    auth = {"Authorization": "Bearer t"}
    polled = requests.get(status_url, headers=auth, verify=verify)
    assert polled.json()["status"] == "InProgress"
    # frozen clock: 0 means "use the client's polling_interval"
    assert started.headers["Retry-After"] == polled.headers["Retry-After"] == "0"
    assert requests.get(result_url, headers=auth, verify=verify).status_code == 202
    sim.clock.advance(timing(sim).restart)
    done = requests.get(status_url, headers=auth, verify=verify).json()
    assert done["status"] == "Succeeded" and "endTime" in done
    final = requests.get(result_url, headers=auth, verify=verify)
    assert final.status_code == 200 and final.content == b""


def test_restart_takes_the_node_down_and_back_with_a_new_instance_id(gateway, sim, fabric_client):
    before = fabric_client.get_node_info("_Legacy_2").instance_id
    op = gateway.restart_instance("Legacy", "2")
    assert op.status() == "InProgress"
    assert fabric_client.get_node_info("_Legacy_2").node_status == "Down"
    sim.clock.advance(timing(sim).restart)
    assert op.result() is None
    after = fabric_client.get_node_info("_Legacy_2")
    assert after.node_status == "Up" and after.instance_id != before


def test_run_command_that_reads_the_ubr_does_not_patch(gateway, sim, fabric_client):
    before = fabric_client.get_node_info("_Legacy_0").instance_id
    op = gateway.run_powershell("Legacy", "0", [UBR_SCRIPT, "hostname"])
    sim.clock.advance(timing(sim).arm_operation)
    output = op.result()
    assert output.stdout == "1770\nLegacy000000\n"
    assert output.stderr == ""
    assert host(sim, "_Legacy_0") == "10.0.14393.1770"
    assert fabric_client.get_node_info("_Legacy_0").instance_id == before


def test_run_command_that_installs_updates_patches_legacy_0(
    client, conn, gateway, sim, fabric_client
):
    t = timing(sim)
    fabric_client.disable_node("_Legacy_0", deactivation_intent="Restart")
    sim.clock.advance(t.safety_checks + t.replica_close)
    before = fabric_client.get_node_info("_Legacy_0")
    assert before.node_status == "Disabled"

    poller = run(client, conn, "Legacy", "0", INSTALL_SCRIPT)
    sim.clock.advance(t.install_updates)
    assert fabric_client.get_node_info("_Legacy_0").node_status == "Down"
    view = client.virtual_machine_scale_set_vms.get_instance_view(
        conn.resource_group, "Legacy", "0"
    )
    assert "PowerState/starting" in [s.code for s in view.statuses]
    assert not poller.done()

    sim.clock.advance(t.restart)
    output = compute.command_output(poller.result())
    assert "14393.1944" in output.stdout
    assert host(sim, "_Legacy_0") == "10.0.14393.1944"
    after = fabric_client.get_node_info("_Legacy_0")
    assert after.node_status == "Disabled"  # still disabled: patching does not enable it
    assert after.instance_id != before.instance_id
    # the OS disk image did not change: Windows Update patched the running OS
    vm = client.virtual_machine_scale_set_vms.get(conn.resource_group, "Legacy", "0")
    assert vm.properties.storage_profile.image_reference.exact_version == "14393.1770.171010"


def test_a_running_command_shows_in_the_instance_view_and_refuses_a_second(
    client, conn, gateway, sim
):
    t = timing(sim)
    legacy = compute.get_scale_set(client, conn.resource_group, "Legacy")

    def vm():
        return compute.get_instance(client, conn.resource_group, legacy, "1")

    assert (vm().run_command, vm().operation) == ("", "")
    poller = run(client, conn, "Legacy", "1", INSTALL_SCRIPT)
    running = vm()
    assert (running.provisioning_state, running.run_command) == ("Updating", "transitioning")
    assert running.operation == "a Run Command"
    view = client.virtual_machine_scale_set_vms.get_instance_view(
        conn.resource_group, "Legacy", "1"
    )
    [extension] = [e for e in view.extensions if e.name == "RunCommandWindows"]
    assert extension.type == "Microsoft.CPlat.Core.RunCommandWindows"
    assert [s.code for s in extension.statuses] == ["ProvisioningState/transitioning"]
    assert "ProvisioningState/updating" in [s.code for s in view.statuses]
    with pytest.raises(ResourceExistsError) as caught:
        run(client, conn, "Legacy", "1", [UBR_SCRIPT])
    assert caught.value.error.code == "Conflict"
    assert "Run command extension execution is in progress" in caught.value.error.message

    sim.clock.advance(t.install_updates)  # rebooting: still the same operation
    assert vm().operation == "a Run Command" and vm().power_state == "starting"
    sim.clock.advance(t.restart)
    poller.result()
    done = vm()
    assert (done.provisioning_state, done.run_command, done.operation) == (
        "Succeeded",
        "succeeded",
        "",
    )
    view = client.virtual_machine_scale_set_vms.get_instance_view(
        conn.resource_group, "Legacy", "1"
    )
    [extension] = [e for e in view.extensions if e.name == "RunCommandWindows"]
    assert [s.code for s in extension.substatuses] == [
        "ComponentStatus/StdOut/succeeded",
        "ComponentStatus/StdErr/succeeded",
    ]
    assert "14393.1944" in extension.substatuses[0].message


def test_a_reimage_in_progress_shows_as_an_operation(client, conn, gateway, sim):
    legacy = compute.get_scale_set(client, conn.resource_group, "Legacy")
    op = gateway.reimage_instance("Legacy", "2")
    busy = compute.get_instance(client, conn.resource_group, legacy, "2")
    assert busy.operation == "an operation (provisioning state Updating)"
    sim.clock.advance(timing(sim).reimage + timing(sim).restart)
    op.result()
    assert compute.get_instance(client, conn.resource_group, legacy, "2").operation == ""


def test_run_command_install_on_an_up_to_date_node_does_nothing(gateway, sim):
    sim.cluster.nodes["_Legacy_1"].host_version = sim.cluster.nodes["_Legacy_1"].patch_target
    op = gateway.run_powershell("Legacy", "1", "wuauclt /detectnow /updatenow")
    sim.clock.advance(timing(sim).arm_operation)
    assert "No updates" in op.result().stdout
    assert sim.cluster.nodes["_Legacy_1"].fabric_up


def test_run_command_unknown_command_id(client, conn):
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machine_scale_set_vms.begin_run_command(
            conn.resource_group, "Legacy", "0", {"commandId": "RunShellScript", "script": ["ls"]}
        )


def test_second_operation_on_a_busy_vm_is_refused(gateway, sim):
    first = gateway.restart_instance("Legacy", "1")
    with pytest.raises(ClusterError, match="OperationNotAllowed"):
        gateway.reimage_instance("Legacy", "1")
    with pytest.raises(ClusterError, match="OperationNotAllowed"):
        gateway.run_powershell("Legacy", "1", UBR_SCRIPT)  # agent not ready while rebooting
    sim.clock.advance(timing(sim).restart)
    first.result()


def test_reimage_to_an_exact_version(client, conn, gateway, sim, fabric_client):
    t = timing(sim)
    before = fabric_client.get_node_info("_FrontEnd_4").instance_id
    op = gateway.reimage_instance("FrontEnd", "4", "17763.6189.240811")
    sim.clock.advance(t.reimage + t.restart)
    op.result()
    assert host(sim, "_FrontEnd_4") == "10.0.17763.6189"
    assert fabric_client.get_node_info("_FrontEnd_4").instance_id != before
    vm = client.virtual_machine_scale_set_vms.get(conn.resource_group, "FrontEnd", "4")
    assert vm.properties.storage_profile.image_reference.exact_version == "17763.6189.240811"
    assert vm.properties.latest_model_applied is True  # the model did not change


def test_reimage_refuses_a_version_that_does_not_exist(client, conn):
    vms = client.virtual_machine_scale_set_vms
    with pytest.raises(ResourceNotFoundError) as caught:
        vms.begin_reimage(
            conn.resource_group, "FrontEnd", "0", {"exactVersion": "17763.9999.991231"}
        )
    assert caught.value.error.code == "PlatformImageNotFound"
    with pytest.raises(HttpResponseError) as caught:
        vms.begin_reimage(
            conn.resource_group, "FrontEnd", "0", {"exactVersion": "14393.1944.171212"}
        )
    assert caught.value.error.code == "InvalidParameter"


def test_reimage_without_version_drops_windows_update_patches(gateway, sim):
    t = timing(sim)
    op = gateway.run_powershell("Legacy", "2", INSTALL_SCRIPT)
    sim.clock.advance(t.install_updates + t.restart)
    op.result()
    assert host(sim, "_Legacy_2") == "10.0.14393.1944"
    op = gateway.reimage_instance("Legacy", "2")
    sim.clock.advance(t.reimage + t.restart)
    op.result()
    assert host(sim, "_Legacy_2") == "10.0.14393.1770"


def test_model_patch_then_manual_upgrade_and_latest_model_applied(client, conn, gateway, sim):
    t = timing(sim)
    front = compute.get_scale_set(client, conn.resource_group, "FrontEnd")

    def applied():
        return [
            i.latest_model_applied
            for i in compute.list_instances(client, conn.resource_group, front)
        ]

    assert applied() == [True] * 5
    op = gateway.set_image_version("FrontEnd", "latest")
    sim.clock.advance(t.arm_operation)
    model = op.result()
    assert model.image_version == "latest"
    assert model.image_exact_version == "17763.6189.240811"  # latest = the patch target
    assert applied() == [False] * 5

    op = gateway.upgrade_instances("FrontEnd", ["0", "2"])
    sim.clock.advance(t.reimage)
    assert not op.done()
    sim.clock.advance(t.restart)
    op.result()
    assert applied() == [True, False, True, False, False]
    versions = {n: host(sim, f"_FrontEnd_{n}") for n in range(5)}
    assert versions == {
        0: "10.0.17763.6189",
        1: "10.0.17763.6054",
        2: "10.0.17763.6189",
        3: "10.0.17763.6054",
        4: "10.0.17763.5576",
    }


def test_model_patch_of_settings_does_not_outdate_instances(client, conn, sim):
    poller = client.virtual_machine_scale_sets.begin_update(
        conn.resource_group,
        "FrontEnd",
        {
            "properties": {
                "upgradePolicy": {"automaticOSUpgradePolicy": {"enableAutomaticOSUpgrade": False}}
            }
        },
    )
    sim.clock.advance(timing(sim).arm_operation)
    result = poller.result()
    assert (
        result.properties.upgrade_policy.automatic_os_upgrade_policy.enable_automatic_os_upgrade
        is False
    )
    vm = client.virtual_machine_scale_set_vms.get(conn.resource_group, "FrontEnd", "0")
    assert vm.properties.latest_model_applied is True


def test_os_rolling_upgrade_moves_instances_ud_by_ud(client, conn, gateway, sim):
    t = timing(sim)
    batch = t.reimage + t.restart
    rolling = client.virtual_machine_scale_set_rolling_upgrades
    with pytest.raises(ResourceNotFoundError):
        rolling.get_latest(conn.resource_group, "Legacy")
    op = gateway.start_os_rolling_upgrade("Legacy")
    latest = rolling.get_latest(conn.resource_group, "Legacy").properties
    assert latest.running_status.code == "RollingForward"
    assert (latest.progress.in_progress_instance_count, latest.progress.pending_instance_count) == (
        1,
        2,
    )

    def versions():
        return [host(sim, f"_Legacy_{n}") for n in range(3)]

    sim.clock.advance(batch)
    assert versions() == ["10.0.14393.1944", "10.0.14393.1770", "10.0.14393.1770"]
    sim.clock.advance(batch)
    assert versions() == ["10.0.14393.1944", "10.0.14393.1944", "10.0.14393.1770"]
    assert not op.done()
    sim.clock.advance(batch)
    op.result()
    assert versions() == ["10.0.14393.1944"] * 3
    latest = rolling.get_latest(conn.resource_group, "Legacy").properties
    assert latest.running_status.code == "Completed"
    assert latest.progress.successful_instance_count == 3


def test_os_rolling_upgrade_needs_version_latest(client, conn, gateway, sim):
    op = gateway.set_image_version("Legacy", "14393.1770.171010")
    sim.clock.advance(timing(sim).arm_operation)
    op.result()
    with pytest.raises(ResourceExistsError) as caught:
        client.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(
            conn.resource_group, "Legacy"
        )
    assert caught.value.error.code == "OperationNotAllowed"


@pytest.mark.parametrize("operation", ARM_OPERATIONS)
def test_arm_fail_ends_the_operation_failed(client, conn, sim, operation):
    sim.cluster.faults.add(Fault("arm-fail", operation))
    rg = conn.resource_group
    vmss = client.virtual_machine_scale_sets
    vms = client.virtual_machine_scale_set_vms
    start = {
        "restart": lambda: vms.begin_restart(rg, "Legacy", "0"),
        "reimage": lambda: vms.begin_reimage(rg, "Legacy", "0"),
        "manualupgrade": lambda: vmss.begin_update_instances(rg, "Legacy", {"instanceIds": ["0"]}),
        "runCommand": lambda: run(client, conn, "Legacy", "0", INSTALL_SCRIPT),
        "osRollingUpgrade": lambda: (
            client.virtual_machine_scale_set_rolling_upgrades.begin_start_os_upgrade(rg, "Legacy")
        ),
        "update": lambda: vmss.begin_update(
            rg,
            "Legacy",
            {
                "properties": {
                    "virtualMachineProfile": {
                        "storageProfile": {"imageReference": {"version": "14393.1944.171212"}}
                    }
                }
            },
        ),
    }[operation]
    poller = start()
    sim.clock.advance(timing(sim).arm_operation)
    with pytest.raises(HttpResponseError) as caught:
        poller.result()
    assert caught.value.error.code == "InternalExecutionError"
    assert f"arm-fail:{operation}" in caught.value.error.message
    # nothing happened to the host or the model
    assert host(sim, "_Legacy_0") == "10.0.14393.1770"
    assert sim.cluster.nodes["_Legacy_0"].fabric_up
    assert compute.get_scale_set(client, rg, "Legacy").image_version == "latest"


def test_gateway_turns_a_failed_operation_into_a_cluster_error(gateway, sim):
    sim.cluster.faults.add(Fault("arm-fail", "reimage"))
    op = gateway.reimage_instance("FrontEnd", "1")
    sim.clock.advance(timing(sim).arm_operation)
    with pytest.raises(ClusterError, match="InternalExecutionError"):
        op.result()


def test_read_only_gateway_refuses_every_arm_mutation():
    gateway = ReadOnlyGateway()
    calls = [
        lambda: gateway.restart_instance("FrontEnd", "0"),
        lambda: gateway.reimage_instance("FrontEnd", "0", "17763.6189.240811"),
        lambda: gateway.upgrade_instances("FrontEnd", ["0"]),
        lambda: gateway.run_powershell("FrontEnd", "0", UBR_SCRIPT),
        lambda: gateway.start_os_rolling_upgrade("FrontEnd"),
        lambda: gateway.set_image_version("FrontEnd", "latest"),
    ]
    for call in calls:
        with pytest.raises(ReadOnlyError):
            call()


def test_gateway_without_arm_says_so():
    with pytest.raises(ClusterError, match=r"no \[arm\]"):
        Gateway(None).restart_instance("FrontEnd", "0")


# ------------------------------------------------------------------ which scripts patch


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        ("Install-WindowsUpdate -AcceptAll -AutoReboot", "install"),
        ("Install-Module PSWindowsUpdate -Force", "install"),
        ("wuauclt /detectnow /updatenow", "install"),
        ("usoclient StartInstall", "install"),
        ("wusa.exe C:\\kb4053579.msu /quiet", "install"),
        ("Install-Package -Name KB4053579", "install"),
        ("Install-Package -Name 7zip", "read"),
        ("# Install-WindowsUpdate is not run here\nGet-ComputerInfo", "read"),
        (UBR_SCRIPT, "read"),
        ("Restart-Computer -Force", "reboot"),
        ("shutdown /r /t 0", "reboot"),
        ("Get-HotFix", "read"),
    ],
)
def test_script_classification(script, kind):
    assert arm_scripts.classify(script) == kind

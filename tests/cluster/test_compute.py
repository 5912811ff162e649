"""azure-mgmt-compute models read from several threads at once (the inventory's ARM reads)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# In a fresh interpreter, so that no model class has been set up yet. The SDK sets a class up
# on its first instantiation by iterating the class __dict__; a second thread setting up the
# same class adds to that __dict__ meanwhile. Here the addition is made at exactly that point,
# from inside the iteration, which is the interleaving seen under load.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from azure.mgmt.compute import models
    from tui.cluster import compute

    arm = json.loads(sys.argv[1])
    client = compute.build_client(compute.connection_from_endpoints(arm, polling_interval=0))
    profile_class = models.VirtualMachineScaleSetVMProfile

    class SecondThread:
        fired = False

        @property
        def _type(self):
            if not SecondThread.fired:
                SecondThread.fired = True
                profile_class._set_up_by_another_thread = True
            raise AttributeError("_type")

    profile_class.zz_second_thread = SecondThread()
    for scale_set in compute.list_scale_sets(client, arm["resource_group"]):
        print(scale_set.name, scale_set.patch_mode, scale_set.image_sku)
    """
)


def test_scale_sets_read_while_another_thread_sets_up_the_sdk_models(sim):
    import json

    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(sim.endpoints["arm"])],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "'dict' object has no attribute" not in done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    names = sorted(line.split()[0] for line in done.stdout.splitlines())
    assert names == ["FrontEnd", "Legacy"]

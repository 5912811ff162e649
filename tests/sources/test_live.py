"""The live source's first read as a screen meets it: the gateway's nodes, held until drawn,
then the engines as they come. No network: FillIn is fed what gather would hand it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from tui.model import ClusterSnapshot, Engine, Node
from tui.sources import READ_ONLY, HeaderInfo, ViewState
from tui.sources.live import FillIn

HEADER = HeaderInfo(READ_ONLY, "contoso")
NODES = tuple(
    Node(f"_FE_{i}", "FE", f"10.0.0.{i}", str(i % 5), f"fd:/{i}", "Up", "Ok", False, "", "1", "")
    for i in range(40)
)
GATEWAY = ClusterSnapshot(datetime(2026, 1, 1, tzinfo=UTC), "contoso", "https://gw", nodes=NODES)


def engine(node: Node) -> Engine:
    return Engine(node.name, f"tcp://{node.ip_address}:2376")


def test_the_read_waits_until_the_screen_has_drawn_the_gateways_nodes() -> None:
    shown: list[ViewState] = []
    arrived = threading.Event()

    def partial(state: ViewState) -> None:
        shown.append(state)
        arrived.set()

    fill = FillIn(HEADER, partial, draw_wait=60)
    reader = threading.Thread(target=fill.gateway, args=(GATEWAY,), daemon=True)
    reader.start()
    assert arrived.wait(10)
    [state] = shown
    assert state.partial and state.snapshot.nodes == NODES and not state.findings
    assert reader.is_alive()  # the engine reads would start on its return
    state.drawn()
    reader.join(10)
    assert not reader.is_alive()


def test_a_screen_that_never_says_it_drew_holds_the_read_only_so_long() -> None:
    shown: list[ViewState] = []
    fill = FillIn(HEADER, shown.append, draw_wait=0)
    fill.gateway(GATEWAY)  # returns, though nobody called drawn()
    assert len(shown) == 1 and shown[0].drawn is not None


def test_engines_reach_the_screen_in_batches_no_faster_than_it_draws_them() -> None:
    shown: list[ViewState] = []
    fill = FillIn(HEADER, shown.append, draw_wait=0)
    fill.gateway(GATEWAY)  # 40 nodes: a state every 2 engines at most
    shown[0].drawn()
    for node in NODES[:10]:
        fill.engine(engine(node))
    # The state of the first two is not drawn yet: the next eight wait for it.
    assert [len(s.snapshot.engines) for s in shown] == [0, 2]
    shown[-1].drawn()  # the next state has every engine read since, at once
    assert [len(s.snapshot.engines) for s in shown] == [0, 2, 10]
    shown[-1].drawn()
    fill.engine(engine(NODES[10]))  # fewer than a batch
    assert len(shown) == 3
    for node in NODES[11:]:
        fill.engine(engine(node))
        shown[-1].drawn()
    counts = [len(s.snapshot.engines) for s in shown]
    assert counts[-1] == 40 and all(
        b - a >= 2 for a, b in zip(counts[1:-2], counts[2:-1], strict=True)
    )
    assert "engines 40/40" in shown[-1].waiting and all(s.partial for s in shown)

"""`sfpatch compat`: will a container image start on a host? Prints the verdict and its rule."""

from __future__ import annotations

import argparse

from tui.cli import HelpFormatter

EXAMPLES = """\
examples:
  sfpatch compat --host 10.0.14393.1944 --image 10.0.14393.1770
      Windows Server 2016 needs the exact revision: not compatible (exit 1)
  sfpatch compat --host 10.0.17763.6054 --image 10.0.17763.5936
      Windows Server 2019 needs the same build only: compatible (exit 0)
  sfpatch compat --host 10.0.17763.6054 --image 10.0.14393.1770 --isolation hyperv
      Hyper-V isolation runs images of the host's build or older: compatible (exit 0)
  sfpatch compat --host 10.0.14393 --image 10.0.14393.1770
      the 2016 rule needs both revisions: cannot be decided (exit 1)

exit status: 0 compatible, 1 not compatible or cannot be decided, 2 malformed version
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `compat` subcommand."""
    parser = subparsers.add_parser(
        "compat",
        help="check whether a container image version runs on a host version",
        description=(
            "Check a Windows container image's OS version against a host's OS version, using "
            "the Windows container version-compatibility rules."
        ),
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--host", required=True, metavar="VERSION", help="host OS version, e.g. 10.0.17763.6054"
    )
    parser.add_argument(
        "--image",
        required=True,
        metavar="VERSION",
        help="image OS version (docker image inspect: OsVersion), e.g. 10.0.17763.5936",
    )
    parser.add_argument(
        "--isolation",
        choices=("process", "hyperv"),
        default="process",
        help="container isolation mode (default: %(default)s)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the verdict; 0 when compatible, 1 when not or when a rule cannot be decided for
    lack of a revision (a bad version raises UsageError)."""
    from tui.rules.compat import check
    from tui.winver import parse_version

    host = parse_version(args.host)
    image = parse_version(args.image)
    verdict = check(host, image, args.isolation)
    if not verdict.decided:
        label = "cannot be decided"
    else:
        label = "compatible" if verdict.compatible else "NOT compatible"
    print(f"{label}: image {image} on host {host} ({args.isolation} isolation)")
    print(f"rule {verdict.rule_id}: {verdict.reason}")
    return 0 if verdict.compatible and verdict.decided else 1

"""`floorpulse dashboards`: write the dashboards' JSON, or push them to a running Grafana."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DESCRIPTION = """\
The Grafana dashboards are Python (dashboards/): live floor, wellbeing, compliance and pipeline,
each with a fixed uid. `build` writes their JSON, the copy committed in dashboards/json and
provisioned by deploy/grafana; `publish` pushes them to a running Grafana over its HTTP API.
"""

PUBLISH_DESCRIPTION = """\
Create or overwrite the dashboards (by their fixed uids) in the "floorpulse" folder of a running
Grafana, through its HTTP API.

The token is read from FLOORPULSE_GRAFANA_TOKEN only: a service account token with the Editor
role (Grafana: Administration, Service accounts). It is never a flag, so that it stays out of
shell history and process lists, and no message ever shows it, whatever answers at --url.
--url is the address alone: no user, password, query (?...) or fragment (#...).

Exit status: 0 when every dashboard was saved, 1 otherwise, with one line saying why (an answer
that is not Grafana's, such as a save without the dashboard's url, included).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dashboards",
        help="write the Grafana dashboards' JSON, or publish them to a running Grafana",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dashboards_action", required=True, metavar="ACTION")

    build = actions.add_parser(
        "build",
        help="write every dashboard's JSON",
        description="Render every dashboard from its code and write NAME.json files.",
    )
    build.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="directory to write into (default: dashboards/json beside the code, the committed "
        "copy that Grafana provisioning mounts)",
    )
    build.set_defaults(run=run_build)

    publish = actions.add_parser(
        "publish",
        help="push the dashboards to a running Grafana (token from FLOORPULSE_GRAFANA_TOKEN)",
        description=PUBLISH_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.add_argument(
        "--url",
        required=True,
        metavar="URL",
        help="Grafana's address, as you open it in a browser, e.g. http://127.0.0.1:3000",
    )
    publish.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for each answer (default: 10)",
    )
    publish.set_defaults(run=run_publish)


def run_build(args: argparse.Namespace) -> int:
    from dashboards.build import DEFAULT_OUT, write

    out: Path = args.out or DEFAULT_OUT
    try:
        written = write(out)
    except OSError as exc:
        print(f"floorpulse dashboards build: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0


def run_publish(args: argparse.Namespace) -> int:
    from dashboards.build import dashboards
    from dashboards.publish import PublishError, publish, token_from

    try:
        published = publish(args.url, token_from(), dashboards(), timeout_s=args.timeout)
    except PublishError as exc:
        print(f"floorpulse dashboards publish: {exc}", file=sys.stderr)
        return 1
    for done in published:
        print(f"published {done.uid} (version {done.version}): {done.url}")
    return 0

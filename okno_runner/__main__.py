"""`python -m okno_runner --socket PATH` or `--listen HOST:PORT` (token in $OKNO_RUNNER_TOKEN)."""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from .server import exit_with_parent, make_server, not_dumpable, serve

TOKEN_VARIABLE = "OKNO_RUNNER_TOKEN"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="okno_runner", description="Okno's runner service: runs automation jobs with only their own credentials."
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--socket", help="path of the Unix socket to listen on")
    where.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help=f"TCP address to listen on; clients must send the token in ${TOKEN_VARIABLE}",
    )
    parser.add_argument("--socket-mode", default="0600", help="permissions of the socket file (octal, default 0600)")
    parser.add_argument("--work-root", help="where job work dirs are made (default: the system temp dir)")
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the process that started it dies (make run)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s okno-runner %(levelname)s %(message)s", stream=sys.stderr
    )

    token = os.environ.get(TOKEN_VARIABLE) or None
    if args.listen and not token:
        parser.error(f"--listen needs a shared token in ${TOKEN_VARIABLE}")
    os.umask(0o077)  # whatever a job writes is private to this user
    not_dumpable()
    if args.exit_with_parent:
        exit_with_parent()
    server = make_server(
        socket_path=args.socket,
        listen=args.listen,
        token=token if args.listen else None,
        socket_mode=int(args.socket_mode, 8),
        work_root=args.work_root,
    )
    logging.getLogger("okno_runner").info("listening on %s (uid %s)", args.socket or args.listen, os.getuid())
    serve(server)


if __name__ == "__main__":
    main()

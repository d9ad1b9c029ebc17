"""``vocml serve`` and ``vocml token create|list|revoke``: thin shells over :mod:`service`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from service.logs import JsonFormatter


def add_service_commands(subparsers: Any) -> None:
    """Add ``serve`` and ``token`` to the ``vocml`` command's subparsers."""
    p = subparsers.add_parser(
        "serve", help="run the REST API and dashboard (SQLite under ./var unless VOCML_DATABASE_URL)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    p.set_defaults(func=cmd_serve)

    p = subparsers.add_parser("token", help="create, list or revoke API tokens")
    tsub = p.add_subparsers(dest="token_command", required=True, help="what to do with tokens")
    c = tsub.add_parser("create", help="create a token and print it (only it) on stdout")
    c.add_argument("--role", required=True, choices=["viewer", "uploader", "admin"], help="what the token may do")
    c.add_argument("--teams", help='comma-separated teams the token is limited to, e.g. "EMEA,APAC" (default: all)')
    c.add_argument("--name", help="a name to recognise the token by")
    c.set_defaults(func=cmd_token_create)
    ls = tsub.add_parser("list", help="list tokens (never their secrets)")
    ls.set_defaults(func=cmd_token_list)
    r = tsub.add_parser("revoke", help="revoke a token by id")
    r.add_argument("id", type=int, help="the token id from `vocml token list`")
    r.set_defaults(func=cmd_token_revoke)


def _engine() -> Any:
    from service.db import make_engine, migrate
    from service.settings import get_settings

    engine = make_engine(get_settings().database_url)
    migrate(engine)
    return engine


def cmd_token_create(args: argparse.Namespace) -> int:
    from service.auth import create_token, parse_teams

    engine = _engine()
    with engine.begin() as conn:
        token = create_token(conn, role=args.role, teams=parse_teams(args.teams), name=args.name)
    engine.dispose()
    print(token.token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from service.auth import list_tokens

    engine = _engine()
    with engine.connect() as conn:
        rows = list_tokens(conn)
    engine.dispose()
    print(f"{'id':>4}  {'name':<24} {'role':<9} {'teams':<24} {'created':<20} revoked")
    for t in rows:
        teams = ",".join(t["teams"]) if t["teams"] else "(all)"
        revoked = t["revoked_at"].isoformat(timespec="seconds") if t["revoked_at"] else ""
        print(
            f"{t['id']:>4}  {t['name']:<24} {t['role']:<9} {teams:<24} "
            f"{t['created_at'].isoformat(timespec='seconds'):<20} {revoked}"
        )
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from service.auth import revoke_token

    engine = _engine()
    with engine.begin() as conn:
        revoke_token(conn, args.id)
    engine.dispose()
    print(f"token {args.id} revoked")
    return 0


def log_config(level: str = "INFO") -> dict[str, Any]:
    """uvicorn's ``log_config``: JSON lines on stderr for uvicorn and the service (every worker process)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": f"{JsonFormatter.__module__}.JsonFormatter"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "vocml": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }


def cmd_serve(args: argparse.Namespace) -> int:
    from service.auth import count_tokens, create_token
    from service.settings import get_settings
    from vocml.bundle import load_model

    # Load the model here first: a missing or tampered bundle stops the server with its message and a
    # non-zero exit, instead of worker processes failing one by one under the supervisor.
    load_model(get_settings().model_dir)
    engine = _engine()
    with engine.begin() as conn:
        first = create_token(conn, role="admin", name="first-admin") if count_tokens(conn) == 0 else None
    engine.dispose()
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    if first is not None:
        print(f"Created the first admin token (shown once, keep it safe):\n  {first.token}", file=sys.stderr)
        print(f"Dashboard (one-time sign-in link): {url}/#token={first.token}", file=sys.stderr)
    print(f"vocml serving on {url} (API docs: {url}/docs)", file=sys.stderr)
    from service.metrics import MetricsShare
    from service.settings import metrics_path

    MetricsShare.clear(metrics_path(get_settings()))  # this server's workers count from zero
    run_uvicorn("service.app:create_app", host=args.host, port=args.port, workers=args.workers, log_config=log_config())
    return 0


def run_uvicorn(app: str, *, host: str, port: int, workers: int, log_config: dict[str, Any] | None = None) -> None:
    """Run an app factory under uvicorn on a socket bound here with ``TCP_NODELAY``.

    Accepted connections inherit ``TCP_NODELAY`` from the listening socket. uvicorn's multi-worker mode
    does not set it, and responses written in two parts then wait ~40 ms for the client's delayed ACK.
    """
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        app, factory=True, host=host, port=port, workers=workers, log_config=log_config, access_log=False
    )
    sock = config.bind_socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if workers > 1:
        Multiprocess(config, sockets=[sock]).run()
    else:
        uvicorn.Server(config).run(sockets=[sock])

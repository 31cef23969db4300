"""``python -m sandbox --host 127.0.0.1 --port 8765 [--state sqlite:///sandbox.db]``: one worker, ready in < 2 s.

One worker on purpose: the state lives in this process, and a single event loop is plenty for 2 requests/s
per organisation.
"""

from __future__ import annotations

import argparse

import uvicorn

from sandbox.app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local Lexware Office API sandbox")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state", default=None, metavar="URL",
                        help="sqlite:///path.db to keep state across restarts (default: in memory)")
    parser.add_argument("--access-log", action="store_true",
                        help="log one line per request (method, path, status; never bodies or headers)")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    app = create_app(args.state)
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_level=args.log_level,
                access_log=args.access_log, server_header=False)


if __name__ == "__main__":
    main()

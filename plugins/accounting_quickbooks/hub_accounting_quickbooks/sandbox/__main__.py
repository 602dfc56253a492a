"""Run the QuickBooks sandbox for a demo: ``python -m hub_accounting_quickbooks.sandbox``.

Prints the ``[connections.settings]`` that point a hub at it. Consent at its authorise URL is
granted at once; time runs ``--scale`` times faster than real time.
"""

from __future__ import annotations

import argparse

import uvicorn

from hub_accounting_quickbooks.sandbox.server import QuickBooksSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="a local QuickBooks Online for demos")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--scale", type=float, default=1.0, help="time speed-up")
    args = parser.parse_args()
    sandbox = QuickBooksSandbox(scale=args.scale)
    url = f"http://{args.host}:{args.port}"
    print('Add to hub.toml:\n\n[[connections]]\nname = "qbo"\nplugin = "quickbooks"\n'
          "[connections.settings]")
    for key, value in sandbox.settings_for(url).items():
        print(f"{key} = {value!r}".replace("'", '"') if not isinstance(value, dict)
              else f"{key} = {{{', '.join(f'{k!r} = {v!r}' for k, v in value.items())}}}"
              .replace("'", '"'))
    print(f"\nThen `hub connect quickbooks qbo` and open the URL it prints. Company: "
          f"{sandbox.realm_id}\n")
    uvicorn.run(sandbox, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

"""Run the Xero sandbox for a demo: ``python -m hub_accounting_xero.sandbox --port 8765``.

Prints the ``[connections.settings]`` that point a hub at it. Consent at its authorise URL is
granted at once; time runs ``--scale`` times faster than real time.
"""

from __future__ import annotations

import argparse

import uvicorn

from hub_accounting_xero.sandbox.server import XeroSandbox


def main() -> None:
    parser = argparse.ArgumentParser(description="a local Xero for demos and manual tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scale", type=float, default=1.0, help="time speed-up")
    args = parser.parse_args()
    sandbox = XeroSandbox(scale=args.scale)
    url = f"http://{args.host}:{args.port}"
    print("Add to hub.toml:\n\n[[connections]]\nname = \"xero\"\nplugin = \"xero\"\n"
          "[connections.settings]")
    for key, value in sandbox.settings_for(url).items():
        print(f'{key} = "{value}"')
    print(f"\nThen `hub connect xero xero` and open the URL it prints. Tenant: {sandbox.tenant.tenant_id}\n")
    uvicorn.run(sandbox.app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()

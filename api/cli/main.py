"""The ``jrp`` command line (docs/api.md#command-line); one module per verb."""

from __future__ import annotations

import typer

from api.cli.exchange import app as exchange_app
from api.cli.impact import impact
from api.cli.importer import import_
from api.cli.keygen import keygen
from api.cli.lint import lint
from api.cli.policytest import test
from api.cli.receipt import verify_receipt
from api.cli.replay import replay
from api.cli.serve import serve
from api.cli.verify import verify

app = typer.Typer(
    name="jrp",
    help="联合奖惩 decision service: serve, lint and test policy bundles, replay, verify, import.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(serve)
app.command()(lint)
app.command(name="test")(test)
app.command()(replay)
app.command()(impact)
app.command()(verify)
app.command(name="import")(import_)
app.command()(keygen)
app.command(name="verify-receipt")(verify_receipt)
app.add_typer(exchange_app, name="exchange")

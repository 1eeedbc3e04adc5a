"""``python -m api.cli``: the same as the ``jrp`` script."""

from api.cli.main import app

app()

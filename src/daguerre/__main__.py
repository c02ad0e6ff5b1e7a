"""`python -m daguerre ...` (and `torchrun ... -m daguerre train recipe ...`): the command line."""

from daguerre.cli import app

app()

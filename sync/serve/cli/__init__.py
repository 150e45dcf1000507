"""`python -m sync`: the CLI's commands, one module per group."""

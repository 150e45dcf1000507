"""What serves people and schedulers: the runner, the HTTP function and the webhook receiver,
the CLI's commands, the consent flows, and the wiring that builds the adapters from the
settings. It uses every layer below; nothing below imports it."""

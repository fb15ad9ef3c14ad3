"""Framework adapters: one module per framework behind the runner's backend protocol."""

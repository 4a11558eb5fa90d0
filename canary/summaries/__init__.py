"""Read-only summaries of the store as the CLI, the dashboard and the API show them."""

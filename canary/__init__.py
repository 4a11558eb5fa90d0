"""canary: honeytoken records for medical laboratory databases."""

"""The demo: the example lab databases (shipped here, so `canary demo` runs from an installed wheel) and their seeding."""

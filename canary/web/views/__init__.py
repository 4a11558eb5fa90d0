"""The dashboard's blueprints: pages, scanning, reports and the JSON API."""

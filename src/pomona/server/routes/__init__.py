"""HTTP routes of the REST API."""

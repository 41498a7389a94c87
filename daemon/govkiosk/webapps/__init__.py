"""Web-app items (issue 19): a province's web page in the kiosk browser, its devices
through the loopback bridge (docs/webapps.md)."""

"""Web-app items: the hardware bridge, the web-app session and the locked-down kiosk browser."""

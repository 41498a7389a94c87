"""Security functions of the kiosk platform: electronic-seal verification (§7.2 a)."""

"""Cameras (§6.2 b, d): the binocular face camera and the document camera (高拍仪)."""

"""The device layer (§5.2 适配中台): drivers behind one API, simulators beside them."""

#!/bin/sh
# Install govkiosk's files under DESTDIR in their FHS places. The one install rule that
# debian/rules and the RPM spec share, so both packages have the same layout.
#
#   packaging/install-tree.sh DESTDIR VENDOR_TREE
#
# VENDOR_TREE is what `packaging/vendor.sh fill` produced. Distribution-specific
# directories come from the environment (defaults: Debian 12, UOS, Kylin V10):
#   UNITDIR (/lib/systemd/system)  UDEVRULESDIR (/lib/udev/rules.d)
set -eu
export PIP_ROOT_USER_ACTION=ignore
dest=${1:?usage: install-tree.sh DESTDIR VENDOR_TREE}
vendor=${2:?usage: install-tree.sh DESTDIR VENDOR_TREE}
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
unitdir=${UNITDIR:-/lib/systemd/system}
udevrulesdir=${UDEVRULESDIR:-/lib/udev/rules.d}
libdir=/usr/lib/govkiosk

# Our code: a private module directory (Debian Python policy §1.5), beside the vendored tree.
"$python" -m pip install --quiet --no-deps --no-build-isolation --no-index --no-compile \
    --target "$dest$libdir/python" "$root"
rm -rf "$dest$libdir/python/bin"
mkdir -p "$dest$libdir"
cp -a "$vendor" "$dest$libdir/vendor"

# Launchers: -I ignores PYTHONPATH and the user's site directory; our code and the
# vendored libraries come before the system's, so the pinned versions are the ones used.
launcher() {
    install -d "$dest$(dirname "$1")"
    cat > "$dest$1" <<LAUNCHER
#!/usr/bin/python3 -I
"""$(basename "$1"): the installed govkiosk $2."""
import sys

sys.path[:0] = ["$libdir/python", "$libdir/vendor"]
from $3 import main  # noqa: E402

sys.exit(main())
LAUNCHER
    chmod 0755 "$dest$1"
}
launcher /usr/sbin/govkioskd "daemon" govkiosk.app
launcher /usr/bin/govkioskctl "control tool" govkiosk.cli.main
launcher /usr/sbin/govkiosk-update "privileged update installer" govkiosk.cli.update
launcher /usr/bin/govkiosk-ui "touch UI" govkiosk_ui.main
launcher /usr/bin/govkiosk-promo "promotion screen" govkiosk_ui.promo.main
launcher /usr/bin/govkiosk-browser-host "kiosk browser host" govkiosk.cli.browserhost

# Configuration: conffiles plus the drop-in directory.
install -D -m 0644 "$here/config/govkiosk.toml" "$dest/etc/govkiosk/govkiosk.toml"
install -D -m 0644 "$here/config/usb.rules" "$dest/etc/govkiosk/usb.rules"
install -d -m 0755 "$dest/etc/govkiosk/conf.d"

# systemd, udev, D-Bus, polkit.
install -D -m 0644 -t "$dest$unitdir" \
    "$root/systemd/govkioskd.service" \
    "$root/systemd/govkiosk-backup.service" \
    "$root/systemd/govkiosk-backup.timer" \
    "$root/systemd/govkiosk-update.service" \
    "$root/systemd/govkiosk-update.path" \
    "$root/systemd/govkiosk-update-recover.service"
install -D -m 0644 -t "$dest/usr/lib/systemd/user" "$root/systemd/govkiosk-ui.service"
install -D -m 0644 -t "$dest/usr/lib/systemd/user" "$root/systemd/govkiosk-promo.service"
install -D -m 0644 -t "$dest/usr/lib/systemd/user" "$root/systemd/govkiosk-browser.service"
install -D -m 0644 -t "$dest/usr/share/govkiosk/autostart" "$root/systemd/govkiosk-ui.desktop"
install -D -m 0644 -t "$dest/usr/share/govkiosk/autostart" "$root/systemd/govkiosk-browser.desktop"
install -D -m 0644 "$here/sysusers/govkiosk.conf" "$dest/usr/lib/sysusers.d/govkiosk.conf"
install -D -m 0644 "$here/tmpfiles/govkiosk.conf" "$dest/usr/lib/tmpfiles.d/govkiosk.conf"
install -D -m 0644 -t "$dest$udevrulesdir" "$root"/udev/*.rules
install -D -m 0644 -t "$dest/usr/share/dbus-1/system.d" "$here/dbus/cn.govkiosk.Kiosk1.conf"
install -D -m 0644 -t "$dest/usr/share/polkit-1/rules.d" "$here/polkit/50-govkiosk.rules"
# polkit 0.105 (UOS 20, Kylin V10) reads only .pkla files; newer polkit ignores this one.
install -D -m 0644 -t "$dest/var/lib/polkit-1/localauthority/10-vendor.d" \
    "$here/polkit/50-govkiosk.pkla"

# govkiosk-fleet (an ops machine's package, never a kiosk's): the metrics service's unit,
# its example configuration, the Grafana dashboard and the Prometheus rules.
install -D -m 0644 -t "$dest$unitdir" "$here/fleet/govkiosk-fleet.service"
install -D -m 0644 "$here/fleet/metrics.toml" "$dest/etc/govkiosk-fleet/metrics.toml"
install -D -m 0644 -t "$dest/usr/share/govkiosk-fleet" \
    "$here/fleet/grafana-dashboard.json" "$here/fleet/alert-rules.yml"

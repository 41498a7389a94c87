"""``cn.govkiosk.Promo1``: the promotion screen's playlist (§6.3 b; docs/promo.md).

The promotion program (``govkiosk-promo``) reads ``Version`` and ``Directory`` and follows
``PlaylistChanged``; ops' ``promo.update`` / ``promo.rollback`` and ``govkioskctl promo``
call ``Update``, ``LoadDirectory`` and ``Rollback`` (the D-Bus policy keeps them from the
UI's group).
"""

from typing import Any, Dict

from dbus_next import Variant
from dbus_next.service import PropertyAccess, ServiceInterface, dbus_property, method, signal

from ..bus import EventBus
from ..contract.names import PROMO_INTERFACE
from ..dbus import guarded
from ..promo.service import PlaylistChanged, PromoService
from ..runtime import Runtime


def _variants(result: Dict[str, Any]) -> Dict[str, Variant]:
    return {
        k: Variant("x", v) if isinstance(v, int) else Variant("s", str(v))
        for k, v in result.items()
    }


class PromoInterface(ServiceInterface):
    def __init__(self, bus: EventBus, service: PromoService) -> None:
        super().__init__(PROMO_INTERFACE)
        self._service = service
        self._unsubscribe = bus.subscribe(PlaylistChanged, self._on_changed)

    def close(self) -> None:
        self._unsubscribe()

    def _on_changed(self, event: PlaylistChanged) -> None:
        self.emit_properties_changed({"Version": event.version, "Directory": event.directory})
        self.PlaylistChanged(event.version, event.directory)

    @dbus_property(access=PropertyAccess.READ)
    def Version(self) -> "s":
        """The playlist in force; empty when none is installed."""
        return self._service.version

    @dbus_property(access=PropertyAccess.READ)
    def Directory(self) -> "s":
        """Its version directory: ``playlist.json`` and the media files, complete."""
        return self._service.directory

    @method()
    @guarded
    def GetState(self) -> "a{sv}":
        return _variants(self._service.state())

    @method()
    @guarded
    async def Update(self, manifest: "s") -> "a{sv}":
        """Install a signed manifest (JSON): download, check, switch; or refuse, saying why."""
        return _variants(await self._service.update(manifest))

    @method()
    @guarded
    async def LoadDirectory(self, path: "s") -> "a{sv}":
        """Install ``path/playlist.json`` and its files (an integrator's local playlist)."""
        return _variants(await self._service.load_directory(path))

    @method()
    @guarded
    async def Rollback(self) -> "a{sv}":
        """Play the previous playlist again (the current one becomes previous)."""
        return _variants(await self._service.rollback())

    @signal()
    def PlaylistChanged(self, version: str, directory: str) -> "ss":
        return [version, directory]


def install(runtime: Runtime) -> None:
    service = PromoService(runtime.bus, lambda: runtime.config.promo, runtime.state_dir / "promo")
    runtime.supervisor.add(service)
    runtime.dbus.export(PromoInterface(runtime.bus, service))

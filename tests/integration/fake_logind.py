"""A stand-in for systemd-logind's org.freedesktop.login1.Manager on a private D-Bus bus, for
the logind path of the session watcher (test_sessions.py). systemd-logind itself needs systemd
as PID 1, which the test host does not have; this object answers the three methods the watcher
calls, with the same signatures and error names, and records each call. It ends nothing:
the watcher's signal sweep, which always follows, does.

usage: fake_logind.py BUS_ADDRESS SESSIONS_JSON CALLS_FILE [deny]
SESSIONS_JSON: [[id, uid, user], ...]. "deny": TerminateSession answers AccessDenied."""

import json
import sys

import dbus
import dbus.service
from gi.repository import GLib

IFACE = "org.freedesktop.login1.Manager"


class Manager(dbus.service.Object):
    def __init__(self, bus, sessions, calls, deny):
        super().__init__(bus, "/org/freedesktop/login1")
        self.sessions, self.calls, self.deny = sessions, calls, deny

    def record(self, *call):
        with open(self.calls, "a") as f:
            f.write(json.dumps(list(call)) + "\n")

    @dbus.service.method(IFACE, in_signature="", out_signature="a(susso)")
    def ListSessions(self):
        self.record("ListSessions")
        return [(sid, dbus.UInt32(uid), user, "", dbus.ObjectPath("/org/freedesktop/login1/session/" + sid))
                for sid, uid, user in self.sessions]

    @dbus.service.method(IFACE, in_signature="s", out_signature="")
    def TerminateSession(self, sid):
        self.record("TerminateSession", str(sid))
        if self.deny:
            raise dbus.DBusException("Access denied", name="org.freedesktop.DBus.Error.AccessDenied")
        if sid not in [s[0] for s in self.sessions]:
            raise dbus.DBusException("No session", name="org.freedesktop.login1.NoSuchSession")

    @dbus.service.method(IFACE, in_signature="u", out_signature="")
    def TerminateUser(self, uid):
        self.record("TerminateUser", int(uid))


def main():
    address, sessions, calls = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    deny = len(sys.argv) > 4 and sys.argv[4] == "deny"
    from dbus.mainloop.glib import DBusGMainLoop
    DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(address)
    name = dbus.service.BusName("org.freedesktop.login1", bus)  # noqa: F841 (held while running)
    Manager(bus, sessions, calls, deny)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()

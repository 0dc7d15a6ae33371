"""A synthetic, reproducible directory for the NSS benchmarks, written out in every format the
three NSS sources read: cache.db (ours), passwd/group (files) and nsscache's indexed
passwd.cache/group.cache (libnss-cache)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (shared cache.db writer, so the bench and the tests agree on the schema)

UID_BASE = 300000
GID_BASE = 250000
HEAVY_USER_GROUPS = 200  # the initgroups user is in this many groups


class Directory:
    """N users, each with a private group (gid = uid), plus n_groups groups of 1..max_members
    members; user 0 is in exactly HEAVY_USER_GROUPS of them."""

    def __init__(self, n_users, n_groups=1000, max_members=1000):
        if n_users < 2:
            raise ValueError("a directory needs at least 2 users")
        self.users = [("bu%06d" % i, UID_BASE + i) for i in range(n_users)]
        self.groups = []
        others = n_users - 1
        for j in range(n_groups):
            size = min(others, 1 + (j * 997) % max_members)
            start = (j * 7919) % others
            members = [1 + (start + k) % others for k in range(size)]
            if j < HEAVY_USER_GROUPS:
                members.append(0)
            self.groups.append(("team-%04d" % j, GID_BASE + j, members))

    @property
    def heavy_user(self):
        return self.users[0]

    def gecos(self, i):
        return "Bench User %d" % i

    def passwd_line(self, i):
        name, uid = self.users[i]
        return "%s:x:%d:%d:%s:/home/%s:/bin/bash\n" % (name, uid, uid, self.gecos(i), name)

    def private_group_line(self, i):
        name, uid = self.users[i]
        return "%s:x:%d:\n" % (name, uid)

    def group_line(self, j):
        name, gid, members = self.groups[j]
        return "%s:x:%d:%s\n" % (name, gid, ",".join(self.users[m][0] for m in members))

    def passwd_lines(self):
        return [self.passwd_line(i) for i in range(len(self.users))]

    def group_lines(self):
        return [self.private_group_line(i) for i in range(len(self.users))] + \
               [self.group_line(j) for j in range(len(self.groups))]

    def write_keys(self, path):
        """The expectations nss_bench checks every look-up against."""
        with open(path, "w") as f:
            for name, uid in self.users:
                f.write("U %s %d\n" % (name, uid))
            for name, gid, members in self.groups:
                f.write("G %s %d %d\n" % (name, gid, len(members)))
            name, uid = self.heavy_user
            # getgrouplist returns the primary group plus every supplementary one.
            f.write("I %s %d %d\n" % (name, uid, HEAVY_USER_GROUPS + 1))

    def write_cache_db(self, path):
        users = [dict(name=name, uid=uid, gecos=self.gecos(i), upn=name + "@contoso.com",
                      object_id="00000000-0000-4000-8000-%012d" % i)
                 for i, (name, uid) in enumerate(self.users)]
        groups = [dict(name=name, gid=gid, object_id="00000000-0000-4000-9000-%012d" % j)
                  for j, (name, gid, _) in enumerate(self.groups)]
        members = [(gid, self.users[m][1]) for _, gid, ms in self.groups for m in ms]
        harness.write_cache(path, users=users, groups=groups, members=members)


def write_lines(path, lines):
    with open(path, "w") as f:
        f.writelines(lines)
    os.chmod(path, 0o644)


def write_files_source(directory, etc, system_etc="/etc"):
    """/etc/passwd and /etc/group as a sysadmin would generate them: the system's own
    entries first, then the directory."""
    with open(os.path.join(system_etc, "passwd")) as f:
        system_passwd = f.readlines()
    with open(os.path.join(system_etc, "group")) as f:
        system_group = f.readlines()
    write_lines(os.path.join(etc, "passwd"), system_passwd + directory.passwd_lines())
    write_lines(os.path.join(etc, "group"), system_group + directory.group_lines())
    return len(system_passwd)


def build_index(lines, field):
    """nsscache's index format, as libnss-cache's _nss_cache_bsearch2 reads it: one line per
    entry, sorted by strcmp of the key, each 'key NUL offset NUL' padded with NULs to one fixed
    width and ended by a newline; offset is the byte offset of the entry in the data file."""
    entries = []
    offset = 0
    for line in lines:
        raw = line.encode()
        entries.append((raw.split(b":")[field], str(offset).encode()))
        offset += len(raw)
    entries.sort()
    width = max(len(k) + len(o) + 2 for k, o in entries)
    out = bytearray()
    for key, off in entries:
        record = key + b"\0" + off + b"\0"
        out += record + b"\0" * (width - len(record)) + b"\n"
    return bytes(out)


def check_index(index, data, field):
    """Resolves every index entry the way libnss-cache does; raises on the first wrong one."""
    width = index.index(b"\n") + 1
    if len(index) % width:
        raise ValueError("index entries are not all %d bytes" % width)
    previous = None
    for pos in range(0, len(index), width):
        key, off = index[pos:pos + width].split(b"\0")[:2]
        if previous is not None and key <= previous:
            raise ValueError("index not strictly sorted at %r" % key)
        previous = key
        line = data[int(off):data.index(b"\n", int(off))]
        if line.split(b":")[field] != key:
            raise ValueError("index entry %r points at %r" % (key, line[:40]))
    return len(index) // width


def write_cache_source(directory, etc, canary=None):
    """/etc/passwd.cache and /etc/group.cache with their .ixname/.ixuid/.ixgid indexes. The
    indexes are written after the data files: libnss-cache ignores an index older than its data.
    CANARY (a passwd line) is appended to passwd.cache but left out of the index, so a look-up
    of it fails only if libnss-cache really uses the index (it falls back to a linear scan when
    an index is missing or unreadable)."""
    counts = {}
    for base, lines, keys in (("passwd", directory.passwd_lines(), (("ixname", 0), ("ixuid", 2))),
                              ("group", directory.group_lines(), (("ixname", 0), ("ixgid", 2)))):
        data_path = os.path.join(etc, base + ".cache")
        write_lines(data_path, lines + ([canary] if canary and base == "passwd" else []))
        with open(data_path, "rb") as f:
            data = f.read()
        for suffix, field in keys:
            index = build_index(lines, field)
            counts["%s.%s" % (base, suffix)] = check_index(index, data, field)
            with open(data_path + "." + suffix, "wb") as f:
                f.write(index)
    return counts

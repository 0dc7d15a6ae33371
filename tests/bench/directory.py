"""Reproducible directories for the NSS benchmarks, written out in every format the three NSS
sources read: cache.db (ours), passwd/group (files) and nsscache's indexed
passwd.cache/group.cache (libnss-cache).

Two kinds: `realistic` (the main case) looks like a tenant provisioned over SCIM as Entra does
it: uids and gids scattered over uid_min..uid_max the way sync/rules/idalloc.c derives them
from object ids, names of realistic length (firstname.lastname, group display names), and each
group's members in the order SCIM added them. `synthetic` (the second case) is the old one:
consecutive uids, short names, members in uid order."""

import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402  (shared cache.db writer, so the bench and the tests agree on the schema)

UID_BASE = 300000
GID_BASE = 250000
HEAVY_USER_GROUPS = 200  # the initgroups user is in this many groups
ID_MIN, ID_MAX = 200000, 2000200000  # etc/entra.conf's uid_min..uid_max (namespace.write_entra_conf)
GID_MIN, GID_MAX = 2001000000, 2147000000  # and its gid_min..gid_max, where SCIM groups' gids come from
MISS_UIDS = 1000  # nss_bench looks up unknown uids just below the first user's

FIRST = ("james mary robert patricia john jennifer michael linda david elizabeth william barbara richard "
         "susan joseph jessica thomas sarah christopher karen charles lisa daniel nancy matthew betty "
         "anthony margaret mark sandra donald ashley steven kimberly andrew emily kenneth donna joshua "
         "michelle kevin carol brian amanda george melissa timothy deborah ronald stephanie jason rebecca "
         "edward sharon jeffrey laura ryan cynthia jacob kathleen gary amy nicholas angela eric shirley "
         "jonathan anna stephen brenda larry pamela justin emma scott nicole brandon helen benjamin samantha "
         "samuel katherine gregory christine alexander debra frank rachel patrick carolyn raymond janet").split()
LAST = ("smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez "
        "wilson anderson thomas taylor moore jackson martin lee perez thompson white harris sanchez clark "
        "ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green adams "
        "nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz parker "
        "cruz edwards collins reyes stewart morris morales murphy cook rogers gutierrez ortiz morgan cooper "
        "peterson bailey reed kelly howard ramos kim cox ward richardson watson brooks chavez wood james").split()
TEAMS = ("linux web database platform network security storage backup monitoring build release data "
         "analytics finance payroll research support helpdesk devops sre identity mobile frontend backend "
         "infra cloud edge").split()
ROLES = "admins users operators developers readers oncall auditors maintainers".split()


class Allocator:
    """sync/rules/idalloc.c: the first 8 bytes of sha256 of the key (probe suffix #N on a
    collision) taken modulo the range, so ids are scattered over uid_min..uid_max (users) and
    gid_min..gid_max (groups, "g:" keys), as the shipped etc/entra.conf sets them."""

    def __init__(self):
        self.taken = set()

    def candidate(self, key, probe):
        text = key if probe == 0 else "%s#%d" % (key, probe)
        h = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
        lo, hi = (GID_MIN, GID_MAX) if key.startswith("g:") else (ID_MIN, ID_MAX)
        return lo + h % (hi - lo + 1)

    def allocate(self, kind, object_id):
        key = "%s:%s" % (kind, object_id)
        probe = 0
        while self.candidate(key, probe) in self.taken:
            probe += 1
        uid = self.candidate(key, probe)
        self.taken.add(uid)
        return uid


def object_id(rng):
    return "%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
                                           0x8000 | rng.getrandbits(14), rng.getrandbits(48))


class Directory:
    """N users, each with a private group (gid = uid), plus n_groups groups of 1..max_members
    members; user 0 is in exactly HEAVY_USER_GROUPS of them. KIND: realistic or synthetic."""

    def __init__(self, n_users, n_groups=1000, max_members=1000, kind="realistic"):
        if n_users < 2:
            raise ValueError("a directory needs at least 2 users")
        self.kind = kind
        if kind == "synthetic":
            self.users = [("bu%06d" % i, UID_BASE + i) for i in range(n_users)]
            group_ids = [("team-%04d" % j, GID_BASE + j) for j in range(n_groups)]
        else:
            self.users, group_ids = self.realistic_ids(n_users, n_groups)
        rng = random.Random(n_users * 7 + 1)
        self.groups = []
        others = n_users - 1
        for j, (name, gid) in enumerate(group_ids):
            size = min(others, 1 + (j * 997) % max_members)
            start = (j * 7919) % others
            members = [1 + (start + k) % others for k in range(size)]
            if j < HEAVY_USER_GROUPS:
                members.append(0)
            if kind != "synthetic":
                rng.shuffle(members)  # SCIM adds members in whatever order the admin picked them
            self.groups.append((name, gid, members))

    @staticmethod
    def realistic_ids(n_users, n_groups):
        rng = random.Random(n_users)
        ids = Allocator()
        seen = set()
        users = []
        for i in range(n_users):
            base = "%s.%s" % (rng.choice(FIRST), rng.choice(LAST))
            name, k = base, 1
            while name in seen:  # Entra's UPNs disambiguate with a number, as admins do
                k += 1
                name = "%s%d" % (base, k)
            seen.add(name)
            users.append((name, ids.allocate("u", object_id(rng))))
            if i == 0:  # the unknown uids nss_bench looks up stay unallocated
                ids.taken.update(range(users[0][1] - MISS_UIDS - 1, users[0][1]))
        groups = []
        for j in range(n_groups):
            name = "sg-%s-%s-%d" % (TEAMS[j % len(TEAMS)], ROLES[(j // len(TEAMS)) % len(ROLES)], j)
            groups.append((name, ids.allocate("g", object_id(rng))))
        return users, groups

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
    return len(system_passwd), len(system_group)


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

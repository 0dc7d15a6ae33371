#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<name>/ (each file at
most 8 KiB). Run with /usr/bin/python3 (needs python3-cryptography); the output is committed, so
this only has to be re-run to change the seeds. Crash reproducers found by fuzzing are added
to the corpus directories by hand (crash-*), never generated here."""

import base64
import json
import os
import sqlite3
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402  (cache_schema.h's numbers and the passwd_blocks layout)

CORPUS = os.path.join(HERE, "corpus")
SEP = b"\n====\n"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
NOW = 1700000000  # fuzz_jwt.c FUZZ_NOW
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCHOP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def put(name, seeds, max_size=8192):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.unlink(os.path.join(d, old))
    for i, data in enumerate(seeds):
        if isinstance(data, str):
            data = data.encode()
        assert len(data) <= max_size, (name, i, len(data))  # a cache.db of 10 empty 512-byte pages is 5 KiB
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)


def js(v):
    return json.dumps(v, separators=(",", ":")).encode()


def user(upn="alice@contoso.com", **extra):
    body = {"schemas": [USER, ENT], "externalId": upn.split("@")[0], "userName": upn, "active": True,
            "displayName": "Alice Smith", "emails": [{"primary": True, "type": "work", "value": upn}],
            "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
            ENT: {"department": "Engineering", "manager": {"value": "boss-1"}}}
    body.update(extra)
    return body


def group(members=("u1", "u2")):
    return {"schemas": [GROUP], "id": "g1", "externalId": "0f0e0d0c", "displayName": "Linux Admins",
            "members": [{"value": m} for m in members], "meta": {"resourceType": "Group"}}


def patch(*ops):
    return {"schemas": [PATCHOP], "Operations": list(ops)}


FILTERS = [
    'userName eq "alice@contoso.com"', 'externalId eq "alice"', 'id eq "ABC-123"',
    'displayName eq "Web Team"', 'userName sw "Alice" and active eq true',
    'emails[type eq "work" and value co "contoso"]', 'emails.value ew ".com"',
    'not (age gt 40) or score le 1.5', '(name.givenName pr) and (meta.lastModified ge "2024-01-01T00:00:00Z")',
    'members[value eq "u1"]', 'members.value eq "U2"', 'title pr', 'age ne 42.0e0',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "E42"',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "boss-1"',
    'active eq false or nothing eq null', 'userName eq "a\\"b\\u00e9\\\\"', '((((((userName pr))))))',
    'userName eq', 'emails[type eq "work"', 'x gt 1e400', 'displayName co "\xc3\xa9"',
]

PATHS = ['members', 'members[value eq "u1"]', 'emails[type eq "work"].value', 'name.givenName',
         ENT + ':manager', ENT + ':employeeNumber', 'urn:ietf:params:scim:schemas:core:2.0:User:userName',
         'emails[type eq "work" and primary eq true].display', 'addresses[type eq "work"].streetAddress',
         'members[value eq "a"].value', 'a[b[c eq 1]]', '.x', 'x.', '']


def patch_seeds():
    u, g = js(user(id="u1", meta={"resourceType": "User"})), js(group())
    seeds = [b"U" + p.encode() for p in PATHS]
    ops = [
        (b"U", u, patch({"op": "Replace", "path": "active", "value": "False"})),
        (b"U", u, patch({"op": "replace", "value": {"active": False, "displayName": "A", "name.givenName": "B"}})),
        (b"U", u, patch({"op": "Add", "path": 'emails[type eq "work"].value', "value": "a@b.c"})),
        (b"U", u, patch({"op": "Replace", "path": ENT + ":manager", "value": "boss-2"})),
        (b"U", u, patch({"op": "remove", "path": 'emails[type eq "home"]'},
                        {"op": "add", "path": "title", "value": "Eng"})),
        (b"U", u, patch({"op": "replace", "path": "id", "value": "x"})),
        (b"U", u, patch({"op": "add", "value": {ENT: {"department": "Ops"}, "nickName": "al"}})),
        (b"G", g, patch({"op": "Add", "path": "members", "value": [{"value": "u3"}, {"value": "u4"}]})),
        (b"G", g, patch({"op": "Remove", "path": "members", "value": [{"value": "u1"}]})),
        (b"G", g, patch({"op": "remove", "path": 'members[value eq "u2"]'})),
        (b"G", g, patch({"op": "Replace", "path": "displayName", "value": "Web Team"})),
        (b"G", g, patch({"op": "replace", "path": "members", "value": [{"value": "u9"}]},
                        {"op": "remove", "path": "members"})),
        (b"G", g, patch({"op": "Add", "path": "members", "value": [{"value": "m%d" % i} for i in range(60)]})),
        (b"G", g, patch({"op": "add", "path": "members", "value": [{"value": "u1"}]},
                        {"op": "remove", "path": "members", "value": [{"value": "u1"}]},
                        {"op": "add", "path": "members", "value": [{"value": "u1"}]})),
        (b"G", g, patch({"op": "bogus", "path": "members"})),
    ]
    seeds += [t + r + SEP + js(p) for t, r, p in ops]
    return seeds


def resource_seeds():
    bodies = [
        b"U" + js(user()),
        b"U" + js(user(active="False", id="client-id", meta={"x": 1})),
        b"U" + js(user(**{ENT: {"manager": "boss-3", "employeeNumber": "7"}})),
        b"U" + js(user(emails=None, phoneNumbers=[{"type": "work", "value": "+1"}])),
        b"U" + b'{"schemas":["' + USER.encode() + b'"],"userName":"a\\u0000b@c.d"}',
        b"U" + b'{"schemas":["' + USER.encode() + b'"],"userName":"\xff\xfe@c.d"}',
        b"U" + js({"schemas": [USER], "userName": ""}),
        b"U" + js({"schemas": [USER], "userName": 7, "active": "yes"}),
        b"U" + js({"userName": "x@y", "name": {"givenName": ["a"]}}),
        b"U" + b"[" * 40 + b"]" * 40,
        b"G" + js({"schemas": [GROUP], "displayName": "Web Team", "externalId": "oid-1", "members": []}),
        b"G" + js(group(members=["u%d" % i for i in range(30)])),
        b"G" + js({"schemas": [GROUP], "displayName": None}),
        b"G" + js({"schemas": [GROUP], "displayName": "x", "members": [{"value": 1}, "u2", None]}),
    ]
    return bodies


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt_material():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pub = key.public_key().public_numbers()
    n = pub.n.to_bytes(256, "big")
    jwk = {"kty": "RSA", "use": "sig", "kid": "k1", "n": b64(n).decode(), "e": b64(b"\x01\x00\x01").decode()}

    def token(claims, header=None):
        h = header or {"alg": "RS256", "typ": "JWT", "kid": "k1"}
        signing = b64(js(h)) + b"." + b64(js(claims))
        sig = key.sign(signing, padding.PKCS1v15(), hashes.SHA256())
        return signing + b"." + b64(sig)
    return jwk, token


def claims(**over):
    c = {"iss": "https://login.microsoftonline.com/%s/v2.0" % TENANT, "aud": CLIENT, "tid": TENANT,
         "iat": NOW, "nbf": NOW, "exp": NOW + 3600, "oid": "0f0e0d0c-0b0a-0908-0706-050403020100",
         "preferred_username": "alice@contoso.com", "name": "Alice"}
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def jwt_seeds(jwk, token):
    jwks = js({"keys": [jwk]})
    other = dict(jwk, kid="k2", alg="RS256")
    many = js({"keys": [dict(jwk, kid="k%d" % i) for i in range(2, 6)] + [jwk]})
    toks = [token(claims()), token(claims(aud=[CLIENT, "x"])), token(claims(exp=NOW - 7200)),
            token(claims(iat=NOW + 7200)), token(claims(nbf=NOW + 7200)), token(claims(tid="evil")),
            token(claims(iss="https://evil/v2.0")), token(claims(exp=1.7e9 + 100.5)), token(claims(oid=None)),
            token(claims(exp=-9223372036854775808)), token(claims(), {"alg": "none", "kid": "k1"}),
            token(claims(), {"alg": "RS256", "kid": "k9"}), token(claims(), {"alg": "RS256", "kid": "k1", "crit": ["x"]})]
    seeds = [jwks + SEP + t for t in toks]
    seeds += [js({"keys": [other, {"kty": "EC", "kid": "k1"}, {"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]})
              + SEP + toks[0], many + SEP + toks[0], toks[0], b"a.b.c", b"eyJ9.e30.", b"..", b"e30.e30.AA=="]
    return seeds


def idp_seeds(jwk, token):
    disc = {"issuer": "https://login.microsoftonline.com/{tenantid}/v2.0",
            "token_endpoint": "https://login.microsoftonline.com/%s/oauth2/v2.0/token" % TENANT,
            "device_authorization_endpoint": "https://login.microsoftonline.com/%s/oauth2/v2.0/devicecode" % TENANT,
            "jwks_uri": "https://login.microsoftonline.com/%s/discovery/v2.0/keys" % TENANT,
            "response_types_supported": ["code", "id_token"], "id_token_signing_alg_values_supported": ["RS256"]}
    jwks = js({"keys": [jwk]})
    tok = token(claims())
    return [
        js(disc) + SEP + jwks + SEP + tok,
        js(dict(disc, issuer="https://idp.example/\x1b[31m{tenantid}")) + SEP + jwks + SEP + tok,
        js(dict(disc, jwks_uri="http://plain/keys")),
        js(dict(disc, token_endpoint=None)),
        js(dict(disc, issuer="")) + SEP + jwks + SEP + tok,
        js(disc) + SEP + js({"keys": {}}) + SEP + tok,
        js(disc) + SEP + js({"keys": [dict(jwk, kid="k%d" % i) for i in range(6)]}) + SEP + tok,
        js(disc) + SEP + b"[1,2]" + SEP + tok,
        js(disc) + SEP + jwks + SEP + b"x.y.z",
        b'{"issuer":"a","issuer":"b"}',
        b"[]",
        b'{"issuer":"https://x/' + b"\xe2\x96\x80" * 50 + b'"}',
    ]


SCHEMA_SMALL = (  # the reader's tables without the secondary indexes (and fewer NOT NULLs), so a seed fits 4 KiB
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE passwd(name TEXT NOT NULL, uid INTEGER PRIMARY KEY, gid INTEGER NOT NULL,"
    " gecos TEXT NOT NULL, dir TEXT NOT NULL, shell TEXT NOT NULL, upn TEXT NOT NULL, object_id TEXT,"
    " scim_id TEXT NOT NULL, role TEXT NOT NULL, login INTEGER NOT NULL, expire INTEGER NOT NULL);"
    "CREATE TABLE groups(name TEXT NOT NULL, gid INTEGER PRIMARY KEY, object_id TEXT, scim_id TEXT NOT NULL,"
    " member_uid_min INTEGER, member_uid_max INTEGER, member_names BLOB);"
    "CREATE TABLE members(gid INTEGER NOT NULL, uid INTEGER NOT NULL, PRIMARY KEY(gid, uid)) WITHOUT ROWID;"
    "CREATE TABLE local_members(uid INTEGER NOT NULL, gid INTEGER NOT NULL, name TEXT NOT NULL,"
    " PRIMARY KEY(uid, gid)) WITHOUT ROWID;"
    "CREATE TABLE ssh_keys(uid INTEGER NOT NULL, n INTEGER NOT NULL, key TEXT NOT NULL,"
    " PRIMARY KEY(uid, n)) WITHOUT ROWID;"
    "CREATE TABLE passwd_blocks(last_uid INTEGER PRIMARY KEY, entries BLOB NOT NULL);")


def insert_rows(con, users, groups, members, local, meta, blocks=None):
    """The meta, passwd, groups (schema version 2: the members' names packed in the row, in uid
    order), members, local_members and passwd_blocks rows (schema version 3: as the writer cuts
    them, or BLOCKS, (last_uid, entries) pairs) of a cache.db."""
    info = {"schema_version": harness.cache_schema_version(), "generation": "1", "published_at": str(NOW), "host": "web-01",
            "uid_min": "200000", "uid_max": "2000200000"}
    info.update(meta or {})
    con.executemany("INSERT INTO meta VALUES(?,?)", [(k, v) for k, v in info.items() if v is not None])
    con.executemany("INSERT INTO passwd VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", users)
    names = {u[1]: u[0] for u in users}
    for g in groups:
        uids = sorted({uid for gid, uid in members if gid == g[1] and uid in names})
        packed = b"".join(str(names[uid]).encode() + b"\0" for uid in uids)
        con.execute("INSERT INTO groups VALUES(?,?,?,?,?,?,?)",
                    tuple(g) + (uids[0] if uids else 0, uids[-1] if uids else 0, packed))
    con.executemany("INSERT INTO members VALUES(?,?)", members)
    con.executemany("INSERT INTO local_members VALUES(?,?,?)", local)
    if blocks is None:
        harness.write_passwd_blocks(con)
    else:
        con.executemany("INSERT INTO passwd_blocks VALUES(?,?)", blocks)


def cache_file(users=(), groups=(), members=(), local=(), meta=None, schema=SCHEMA_SMALL):
    fd, path = tempfile.mkstemp()
    os.close(fd)
    os.unlink(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=512")
    con.executescript(schema)
    insert_rows(con, users, groups, members, local, meta)
    con.commit()
    con.execute("VACUUM")
    con.close()
    data = open(path, "rb").read()
    os.unlink(path)
    return data


def pw(name, uid, role="user", expire=-1, gid=None, gecos=None, home=None, shell="/bin/bash", oid=None):
    return (name, uid, uid if gid is None else gid, gecos if gecos is not None else name.title(),
            home or "/home/" + name, shell, name + "@contoso.com", oid, "scim-" + name, role, 1, expire)


def nss_seeds():
    alice, bob = pw("alice", 200001, "admin", oid="0f0e0d0c"), pw("bob", 200002, expire=1)
    good = cache_file([alice, bob], [("web-team", 300000, "g-oid", "scim-g"), ("linux-admins", 300001, None, "g2")],
                      [(300000, 200001), (300000, 200002), (300001, 200001)], [(200001, 27, "sudo")])
    seeds = [good, good[:1024], good[:100], b"SQLite format 3\0" + b"\0" * 84, b"not a database\n" * 8]
    seeds.append(cache_file([alice], meta={"schema_version": "1"}))
    seeds.append(cache_file([alice], meta={"schema_version": None}))
    seeds.append(cache_file([pw("root", 0), pw("x:y", 200003), pw("evil", 200004, home="/h\nx"),
                             pw("low", 100), pw("big", 4000000000), pw("c", 200005, gecos="a:b")]))
    seeds.append(cache_file([alice, ("alice", 200009, 200009, "A", "/home/a", "/bin/sh", "u", None, "s", "user", 1, -1)]))
    seeds.append(cache_file([alice], [("web-team", 300000, None, "g")], [(300000, 200001), (300000, 999)],
                            [(200001, 27, "sudo"), (200001, 28, "wheel"), (200001, 0, "root")]))
    loose = SCHEMA_SMALL.replace(" NOT NULL", "").replace("uid INTEGER PRIMARY KEY", "uid")
    seeds.append(cache_file([("carol", "200010", 200010, None, "/home/c", "/bin/sh", "u", None, "s", None, 1, "x"),
                             (None, 200011, 1.5, "g", "/h", "/bin/sh", "u", None, "s", "user", 1, -1)], schema=loose))
    seeds.append(cache_file([pw("u%02d" % i, 200100 + i, gecos="", home="/h", shell="/s") for i in range(6)],
                            [("g%d" % i, 300100 + i, None, "g") for i in range(3)],
                            [(300100 + i % 3, 200100 + i) for i in range(6)]))
    corrupt = bytearray(good)
    corrupt[600:640] = b"\xff" * 40  # damage inside the first table's page
    seeds.append(bytes(corrupt))
    return seeds


def schema_sql():
    """ENTRA_CACHE_SCHEMA_SQL from common/cache_schema.h (the writer's exact schema)."""
    import re
    text = open(os.path.join(HERE, "..", "..", "common", "cache_schema.h")).read()

    def expand(name):
        body = re.search(r"#define %s\b(.*?)(?<!\\)\n" % name, text, re.S).group(1)
        tokens = re.findall(r'"((?:[^"\\]|\\.)*)"|(ENTRA_CACHE_SQL_\w+)', body)
        return "".join(lit if lit or not macro else expand(macro) for lit, macro in tokens)
    return expand("ENTRA_CACHE_SCHEMA_SQL")


def real_cache_file(users=(), groups=(), members=(), local=(), meta=None, blocks=None):
    """A cache.db as entra-syncd writes it: the exact schema, 4 KiB pages, indexes after the rows."""
    fd, path = tempfile.mkstemp()
    os.close(fd)
    os.unlink(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size=4096")
    statements = [st for st in schema_sql().split(";") if st]
    for st in statements:
        if not st.startswith("CREATE INDEX"):
            con.execute(st)
    insert_rows(con, users, groups, members, local, meta, blocks)
    for st in statements:
        if st.startswith("CREATE INDEX"):
            con.execute(st)
    con.commit()
    con.close()
    data = open(path, "rb").read()
    os.unlink(path)
    return data


def btree_seeds():
    """Real-format files for the module's own reader: small, with overflow pages (a long gecos,
    a group's packed names over 8 KiB), two-level b-trees, another version, wrong types."""
    alice, bob = pw("alice", 200001, "admin", oid="0f0e0d0c"), pw("bob", 200002, expire=1)
    small = real_cache_file([alice, bob], [("web-team", 300000, "g-oid", "scim-g"), ("linux-admins", 300001, None, "g2")],
                            [(300000, 200001), (300000, 200002), (300001, 200001)], [(200001, 27, "sudo")])
    many = [pw("user-%s-%03d" % ("x" * 16, i), 200100 + i, gecos="", home="/h", shell="/s") for i in range(300)]
    big = real_cache_file(many + [pw("carol", 200003, gecos="g" * 5000)],
                          [("everyone", 300010, None, "g"), ("few", 300011, None, "g")],
                          [(300010, 200100 + i) for i in range(300)] + [(300011, 200003), (300011, 999)],
                          [(200100 + i, 27, "sudo") for i in range(0, 300, 7)])
    v1 = real_cache_file([alice], meta={"schema_version": "1"})
    loose = real_cache_file([alice, ("eve", 200004, "200004", b"\0x", "/h", "/s", "u", None, "s", 7, 1, 1.5)],
                            [("g", 300000, None, "s")], [(300000, "abc"), ("x", 200001)], [(200001, "27", b"sudo")])
    return [small, big, v1, loose] + blocks_seeds(alice, bob)


def blocks_seeds(alice, bob):
    """passwd_blocks as getpwent reads them: many blocks, one on overflow pages, and damaged
    ones (an entry cut short, a missing NUL, uids out of order or out of range, a key other than
    the last uid, a block larger than any the writer makes, text instead of a blob)."""
    many = [pw("u%04d" % i, 200100 + i, gecos="User %d" % i, home="/home/u%04d" % i) for i in range(400)]
    e = [harness.block_entry(u[1], u[0], u[3], u[4], u[5]) for u in (alice, bob)]
    bad = [
        [(200002, e[0] + e[1][:-3])],
        [(200002, e[0] + e[1][:-1] + b"x")],
        [(200001, e[1] + e[0])],
        [(200002, harness.block_entry(100, "low", "g", "/h", "/bin/sh") + e[0] + e[1])],
        [(200003, e[0] + e[1])],
        [(200002, (e[0] + e[1]).decode())],
        [(200002, e[0] + e[1] + b"".join(harness.block_entry(200003 + i, "x%d" % i, "g" * 300, "/h", "/s")
                                         for i in range(100)))],
    ]
    return ([real_cache_file(many), real_cache_file([alice, bob, pw("carol", 200003, gecos="g" * 4000)] + many[:60])]
            + [real_cache_file([alice, bob], blocks=b) for b in bad])


def main():
    put("scim_filter", FILTERS)
    put("scim_patch", patch_seeds())
    put("scim_resource", resource_seeds())
    jwk, token = jwt_material()
    put("jwt", jwt_seeds(jwk, token))
    put("idp_json", idp_seeds(jwk, token))
    btree = btree_seeds()
    put("nss_cache", nss_seeds() + [btree[0], btree[3]], max_size=48 * 1024)
    put("nss_btree", btree, max_size=160 * 1024)
    for name in sorted(os.listdir(CORPUS)):
        print("%-14s %d files" % (name, len(os.listdir(os.path.join(CORPUS, name)))), file=sys.stderr)


if __name__ == "__main__":
    main()

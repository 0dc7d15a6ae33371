"""Group commit in entra-syncd under real concurrency: 32 client threads whose writes share
batches. Uniqueness holds across a batch (exactly one 201 per userName, the rest 409), every
acknowledged write survives kill -9, and requests that fail inside a batch leave the writes of
the others intact and leave no trace of their own."""

import signal
import threading
import urllib.parse

import harness
import hardening_util as hu

THREADS = 32
CLAIMS_PER_NAME = 4  # threads that race for each userName
ROUNDS = 16


def run_threads(fn):
    errors = []

    def guarded(n):
        try:
            fn(n)
        except Exception as e:  # noqa: BLE001 (reported below, with the thread)
            errors.append("thread %d: %r" % (n, e))

    pool = [threading.Thread(target=guarded, args=(n,)) for n in range(THREADS)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    assert not errors, errors[:5]


def list_users(client):
    """Every user as userName -> id, paged."""
    users, start = {}, 1
    while True:
        status, _, body, raw = client.get("/Users?startIndex=%d&count=1000" % start)
        assert status == 200, raw
        for r in body["Resources"]:
            users[r["userName"]] = r["id"]
        if not body["Resources"]:
            return users
        start += len(body["Resources"])


def test_racing_creates_one_201_per_name_and_all_survive_kill9(site, procs):
    syncd = harness.Syncd(site, procs)
    base, token = syncd.client.base, syncd.client.token
    lock = threading.Lock()
    outcomes = {}  # lowercased UPN -> [(status, id)]

    def claimant(n):
        client = harness.ScimClient(base, token)
        for r in range(ROUNDS):
            upn = "race%d-%d@contoso.com" % (r, n // CLAIMS_PER_NAME)
            # the same name in other case: userName is unique case-insensitively
            sent = upn.upper() if n % 2 else upn
            status, _, body, raw = client.post("/Users", harness.entra_user(sent))
            assert status in (201, 409), "POST %s: %s %r" % (sent, status, raw[:300])
            with lock:
                outcomes.setdefault(upn, []).append((status, body.get("id") if status == 201 else None))

    run_threads(claimant)
    names = THREADS // CLAIMS_PER_NAME * ROUNDS
    assert len(outcomes) == names
    created = {}
    for upn, results in outcomes.items():
        statuses = sorted(s for s, _ in results)
        assert statuses == [201] + [409] * (CLAIMS_PER_NAME - 1), "%s: %s" % (upn, statuses)
        created[upn] = next(i for s, i in results if s == 201)
    stored = {k.lower(): v for k, v in list_users(syncd.client).items()}
    assert stored == created, "stored users differ from the 201 answers"

    syncd.stop(signal.SIGKILL)
    assert hu.integrity_ok(site.state_db)
    syncd.start()
    for upn, scim_id in created.items():
        status, _, body, raw = syncd.client.get("/Users/" + scim_id)
        assert status == 200, "acknowledged %s lost after kill -9: %s %r" % (upn, status, raw[:200])
        assert body["userName"].lower() == upn
    assert len(list_users(syncd.client)) == names


def count_groups_named(client, name):
    status, _, body, raw = client.get("/Groups?filter=" + urllib.parse.quote('displayName eq "%s"' % name))
    assert status == 200, raw
    return body["totalResults"]


def test_failures_inside_batches_keep_the_other_writes(site, procs):
    """Half the threads create users; the other half send writes that fail once they hold the
    writer: a rename onto a taken userName (409), a new user whose userName is taken once case
    is folded (409), a PATCH of a user that does not exist (404). All run at once, so they share
    batches."""
    syncd = harness.Syncd(site, procs)
    client = syncd.client
    for upn in ("victim@contoso.com", "taken@contoso.com", "t\u00e4ken@contoso.com"):
        status, _, body, raw = client.post("/Users", harness.entra_user(upn))
        assert status == 201, raw
        if upn.startswith("victim"):
            victim = body
    status, _, _, raw = client.post("/Groups", harness.entra_group("Taken Team", "00000000-0000-4000-c000-0000000000aa"))
    assert status == 201, raw
    per_thread = 12
    lock = threading.Lock()
    acked, unexpected = {}, []

    def failing_write(c, n, i):
        """One write that must fail, and the status it must fail with."""
        if i % 3 == 0:
            rename = harness.entra_user("TAKEN@contoso.com", "victim")
            return c.put("/Users/" + victim["id"], rename), 409
        if i % 3 == 1:
            return c.post("/Users", harness.entra_user("T\u00c4KEN@contoso.com", "x-%d-%d" % (n, i))), 409
        missing = "/Users/00000000-0000-4000-8000-%012d" % (n * 100 + i)
        return c.patch(missing, harness.patch_body({"op": "replace", "path": "active", "value": False})), 404

    def worker(n):
        c = harness.ScimClient(client.base, client.token)
        for i in range(per_thread):
            if n % 2 == 0:
                upn = "keep%d-%d@contoso.com" % (n, i)
                (status, _, body, raw), want = c.post("/Users", harness.entra_user(upn)), 201
                if status == 201:
                    with lock:
                        acked[upn] = body["id"]
            else:
                (status, _, _, raw), want = failing_write(c, n, i)
            if status != want:
                with lock:
                    unexpected.append((n, i, status, want, raw[:200]))

    run_threads(worker)
    assert not unexpected, unexpected[:5]
    assert len(acked) == THREADS // 2 * per_thread
    stored = list_users(client)
    for upn, scim_id in acked.items():
        assert stored.get(upn) == scim_id, "%s lost" % upn
    # the failed writes left nothing behind
    status, _, body, raw = client.get("/Users/" + victim["id"])
    assert status == 200 and body["userName"] == "victim@contoso.com", raw
    assert count_groups_named(client, "Taken Team") == 1
    assert set(stored) == set(acked) | {"victim@contoso.com", "taken@contoso.com", "t\u00e4ken@contoso.com"}
    # and everything acknowledged is durable
    syncd.stop(signal.SIGKILL)
    syncd.start()
    assert list_users(client) == stored

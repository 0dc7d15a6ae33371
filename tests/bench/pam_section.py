"""PAM section: pam_entra.so through pamtester against the Entra-shaped test IdP
(tests/idp/idp.py) with a warm discovery/JWKS cache. Per login: CPU time of the whole pamtester
process tree (rusage of waited children), against the same pamtester run through a
pam_permit-only service as the baseline, and the HTTP requests the IdP saw. pam_entra signs in
only through entra-authd: the broker's CPU for the login (its process CPU clock before and
after) is shown beside the PAM process's."""

import os
import resource
import tempfile

import directory  # noqa: F401  (puts tests/integration on sys.path)
import harness
import pam_util
from nss_section import BenchFailure
from report import Table

OPS = ("authenticate", "acct_mgmt")
BASELINE_SERVICE = "bench-permit"


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class PamBench:
    def __init__(self, args, work, log):
        harness.BUILD = args.build
        self.log = log
        self.logins = 3 if args.smoke else 30
        self.procs = harness.Processes()
        self.broker_cpu = []
        self.dir = tempfile.mkdtemp(prefix="pam-", dir=work)

    def write_baseline_service(self, pamd):
        with open(os.path.join(pamd, BASELINE_SERVICE), "w") as f:
            f.write("auth required pam_permit.so\naccount required pam_permit.so\n")

    def pamtester(self, site, service, user):
        """One login; returns the CPU seconds it cost."""
        argv = ["pamtester", "-v", service, user] + list(OPS)
        before = children_cpu()
        r = harness.in_namespace(argv, site.binds(), env=harness.module_env(), input="\n" * 5,
                                 timeout=120)
        cpu = children_cpu() - before
        if r.returncode != 0:
            raise BenchFailure("pamtester %s %s failed (%d): %s" % (service, user, r.returncode,
                                                                     (r.stdout + r.stderr)[-1500:]))
        return cpu

    def login(self, idp, site, ident):
        """One sign-in: (CPU of the PAM process tree, HTTP requests, requests by kind); the
        broker's CPU for it goes to self.broker_cpu."""
        idp.control(op="reset")
        idp.script(user=ident)
        broker_before = site.broker.cpu_seconds()
        cpu = self.pamtester(site, pam_util.SERVICE, "alice")
        self.broker_cpu.append(site.broker.cpu_seconds() - broker_before)
        reqs = idp.requests()
        kinds = {"devicecode": 0, "token": 0, "other": 0}
        for r in reqs:
            kinds["devicecode" if r["path"].endswith("/devicecode") else
                  "token" if r["path"].endswith("/token") else "other"] += 1
        return cpu, len(reqs), kinds

    def run(self):
        try:
            idp = pam_util.TestIdp(self.procs, self.dir)
            row, ident = pam_util.new_user("alice")
            site = pam_util.PamSite(idp, [row])
            site.write_service(args="")  # no debug logging in the measured path
            self.write_baseline_service(site.pamd)
            site.broker_ready()
            self.login(idp, site, ident)  # warms the broker's caches, TLS connection and memo
            self.broker_cpu.clear()
            samples = self.interleaved(idp, site, ident)
            if min(self.broker_cpu) <= 0.00005:
                raise BenchFailure("a login did not go through entra-authd (no broker CPU); see %s"
                                   % site.broker.log_path)
            site.cleanup()
        finally:
            self.procs.stop_all()
        return self.table(*samples), dict(zip(("logins", "baseline_cpu_s", "non_entra_cpu_s", "local_user_cpu_s"),
                                              samples), broker_cpu_s=self.broker_cpu)

    def interleaved(self, idp, site, ident):
        """Every kind of sample in turn, round after round, so the machine's drift during the run
        (a noisy neighbour, frequency changes) weighs on each the same."""
        logins, baseline, loaded, local = [], [], [], []
        for _ in range(self.logins):
            baseline.append(self.pamtester(site, BASELINE_SERVICE, "alice"))
            logins.append(self.login(idp, site, ident))
            # root is never an Entra account: pam_entra loads, answers PAM_IGNORE before reading
            # its config; another local user costs the config and a cache.db look-up too.
            idp.control(op="reset")
            loaded.append(self.pamtester(site, pam_util.SERVICE, "root"))
            local.append(self.pamtester(site, pam_util.SERVICE, "nobody"))
            if idp.requests():
                raise BenchFailure("pam_entra sent HTTP requests for a local (non-Entra) account")
        return logins, baseline, loaded, local

    def table(self, logins, baseline, loaded, local):
        def median(values):
            return sorted(values)[len(values) // 2]

        med, base_med, load_med = median([c for c, _, _ in logins]), median(baseline), median(loaded)
        broker_med = median(self.broker_cpu)
        t = Table("PAM sign-in (pam_entra.so via pamtester through entra-authd, test IdP, warm broker; "
                  "baseline: pamtester through pam_permit only)")
        t.add("CPU per login, pamtester + broker", (med + broker_med) * 1000, "ms", "pam_permit", base_med * 1000,
              note="median of %d" % len(logins))
        t.add("CPU per login, pam_entra's share", (med - base_med) * 1000, "ms", target=("<=", 3.1),
              note="module load, config, cache.db, NSS identity check, socket, prompts")
        t.add("CPU per login, entra-authd's share", broker_med * 1000, "ms",
              note="warm TLS connection, device code + polls, RS256 check")
        t.add("CPU, pam_entra loaded for root", load_med * 1000, "ms", "pam_permit", base_med * 1000,
              note="module load + PAM_IGNORE")
        t.add("CPU, pam_entra for a local user not in cache.db", median(local) * 1000, "ms", "pam_permit",
              base_med * 1000, note="module load, config, cache.db look-up, PAM_IGNORE")
        both = logins
        worst = max(n for _, n, _ in both)
        other = max(k["other"] for _, _, k in both)
        polls = max(k["token"] for _, _, k in both)
        t.add("HTTP requests per login (max)", worst, "", note="%d devicecode + %d token polls + %d other" % (
            max(k["devicecode"] for _, _, k in both), polls, other))
        t.add("discovery/JWKS fetches per warm login", other, "", target=("<=", 0))
        return t


def run(args, work, log):
    return PamBench(args, work, log).run()

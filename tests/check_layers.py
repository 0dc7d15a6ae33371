#!/usr/bin/env python3
"""The layering rules of the tree, checked by `make check` (`make layers`):

- PAM headers (<security/...>) only in pam_entra/ (tests aside);
- arrows run one way: a folder includes only its own headers and those of the folders below it
  (RANK), never a sibling's or a higher one's;
- no two source files call each other (tests/call_loops.py, over the build's objects);
- pam_entra.so and libnss_scim.so.2 need no TLS, HTTP or JWT library, entra-authd no libpam
  (readelf -d, NEEDED); libnss_scim.so.2 needs libc alone (it reads cache.db's file format
  itself: libsqlite3 must never come back into every process that resolves a user);
- clang-format --dry-run -Werror is clean on every tracked .c and .h.

Usage: tests/check_layers.py BUILD_DIR. Prints every violation; exit 1 when there is one.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import call_loops  # noqa: E402

# What each folder may include besides itself: everything of a lower rank on its own line of
# descent. common is below all; the three login-path parts see common only (authd also httpc);
# inside sync/ the order is the one of the README's development section.
ALLOWED = {
    "common": set(),
    "httpc": {"common"},
    "nss_scim": {"common"},
    "pam_entra": {"common"},
    "authd": {"common", "httpc"},
}
SYNC_ORDER = [
    ["sync/store"],
    ["sync/tokens", "sync/rules"],
    ["sync/publish"],
    ["sync/scim"],
    ["sync/http", "sync/sessions"],
    ["sync/feed", "sync/follow"],  # the feed adds a route to sync/http
    ["sync/doctor"],
    ["sync/cli", "sync/syncd"],
]
for level, folders in enumerate(SYNC_ORDER):
    below = {f for lower in SYNC_ORDER[:level] for f in lower}
    for folder in folders:
        ALLOWED[folder] = {"common", "httpc"} | below

# What libnss_scim.so.2 may need: libc, and the sanitizer runtimes of a sanitized build.
NSS_ALLOWED = re.compile(r"(libc\.so\.6|ld-linux[-\w.]*\.so\.\d|lib(asan|ubsan)\.so[.\d]*)$")
# Libraries a login process must not load: TLS, HTTP, JWT/crypto stacks.
NETWORK_LIBS = re.compile(r"lib(curl|ssl|crypto|gnutls|nettle|hogweed|microhttpd|nghttp2|ngtcp2|jwt|ldap|gssapi)")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def tracked_sources():
    out = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [p for p in out.stdout.split() if os.path.exists(os.path.join(ROOT, p))]


def folder_of(path):
    parts = path.split("/")
    if parts[0] == "sync" and len(parts) > 2:
        return "sync/" + parts[1]
    return parts[0]


def check_includes(sources):
    problems = []
    for path in sources:
        if path.startswith("tests/"):
            continue
        own = folder_of(path)
        text = open(os.path.join(ROOT, path), encoding="utf-8", errors="replace").read()
        for quote, name in INCLUDE.findall(text):
            if quote == "<" and name.startswith("security/") and own != "pam_entra":
                problems.append("%s: includes <%s>: PAM headers belong in pam_entra/ only" % (path, name))
            if quote != '"' or "/" not in name:
                continue
            target = folder_of(name)
            if target == own or target not in ALLOWED:
                continue
            if own in ALLOWED and target not in ALLOWED[own]:
                problems.append('%s: includes "%s": %s/ may include only %s' % (
                    path, name, own, ", ".join(sorted(ALLOWED[own])) or "itself"))
    return problems


def needed(binary):
    out = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def check_links(build):
    problems = []
    for module in ("pam_entra.so", "libnss_scim.so.2"):
        path = os.path.join(build, module)
        if not os.path.exists(path):
            problems.append("%s: not built; run make first" % path)
            continue
        for lib in needed(path):
            if NETWORK_LIBS.match(lib):
                problems.append("%s needs %s: a login process must not load TLS or HTTP code" % (module, lib))
            elif module == "libnss_scim.so.2" and not NSS_ALLOWED.match(lib):
                problems.append("%s needs %s: the NSS module links libc alone (its own cache.db reader, "
                                "nss_scim/btree.c; no SQLite in every process that resolves a user)" % (module, lib))
    authd = os.path.join(build, "entra-authd")
    if not os.path.exists(authd):
        problems.append("%s: not built; run make first" % authd)
    else:
        for lib in needed(authd):
            if lib.startswith("libpam"):
                problems.append("entra-authd needs %s: the broker is no PAM client" % lib)
    return problems


def check_format(sources):
    out = subprocess.run(["clang-format", "--dry-run", "-Werror"] + sources, cwd=ROOT, capture_output=True,
                         text=True)
    files = sorted({line.split(":")[0] for line in out.stderr.splitlines() if ": error:" in line})
    return ["%s: not clang-format clean (make format)" % f for f in files]


def check_loops(build):
    objs = os.path.join(build, "obj")
    if not os.path.isdir(objs):
        return ["%s: no objects; run make first" % objs]
    return ["%s and %s call each other: move what both need below them" % pair
            for pair in call_loops.loops(objs)]


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    build = sys.argv[1]
    sources = tracked_sources()
    problems = check_includes(sources) + check_loops(build) + check_links(build) + check_format(sources)
    for p in problems:
        print("layers: " + p)
    if problems:
        print("layers: %d problem(s)" % len(problems))
        return 1
    print("layers: includes, call graph, module links and formatting follow the rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())

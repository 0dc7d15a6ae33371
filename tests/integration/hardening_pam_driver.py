#!/usr/bin/python3
"""Drives one PAM transaction in this process through libpam (ctypes) and reports the process's
threads and descriptors before pam_start and after pam_end, so a test can see whether the
module leaves threads or descriptors behind in its caller.

    hardening_pam_driver.py SERVICE USER  -> JSON {"rc", "threads": [before, after], "fds": [...]}

The conversation answers every prompt with an empty line (the device code prompt's Enter)."""

import ctypes
import json
import os
import pwd
import sys
from ctypes import CFUNCTYPE, POINTER, Structure, c_char_p, c_int, c_size_t, c_void_p


class PamMessage(Structure):
    _fields_ = [("msg_style", c_int), ("msg", c_char_p)]


class PamResponse(Structure):
    _fields_ = [("resp", c_void_p), ("resp_retcode", c_int)]


CONV = CFUNCTYPE(c_int, c_int, POINTER(POINTER(PamMessage)), POINTER(POINTER(PamResponse)), c_void_p)


class PamConv(Structure):
    _fields_ = [("conv", CONV), ("appdata_ptr", c_void_p)]


libc = ctypes.CDLL(None)
libc.calloc.restype = c_void_p
libc.calloc.argtypes = [c_size_t, c_size_t]
libc.strdup.restype = c_void_p
libc.strdup.argtypes = [c_char_p]
libpam = ctypes.CDLL("libpam.so.0")
libpam.pam_start.argtypes = [c_char_p, c_char_p, POINTER(PamConv), POINTER(c_void_p)]
libpam.pam_authenticate.argtypes = [c_void_p, c_int]
libpam.pam_acct_mgmt.argtypes = [c_void_p, c_int]
libpam.pam_end.argtypes = [c_void_p, c_int]


@CONV
def conversation(n, msgs, resp, appdata):
    # libpam frees the answers with free(): they must come from libc's allocator.
    answers = libc.calloc(n, ctypes.sizeof(PamResponse))
    arr = ctypes.cast(answers, POINTER(PamResponse))
    for i in range(n):
        sys.stderr.write((msgs[i].contents.msg or b"").decode(errors="replace") + "\n")
        arr[i].resp = libc.strdup(b"")
        arr[i].resp_retcode = 0
    resp[0] = arr
    return 0


def snapshot():
    return len(os.listdir("/proc/self/task")), sorted(os.listdir("/proc/self/fd"))


def main():
    service, user = sys.argv[1].encode(), sys.argv[2].encode()
    # As sshd and login do, the caller resolves the user before PAM: libnss_scim's cache.db
    # connection (kept for the life of the process) is then the caller's, not the module's.
    pwd.getpwnam(sys.argv[2])
    threads0, fds0 = snapshot()
    handle = c_void_p()
    conv = PamConv(conversation, None)
    rc = libpam.pam_start(service, user, ctypes.byref(conv), ctypes.byref(handle))
    if rc == 0:
        rc = libpam.pam_authenticate(handle, 0)
        if rc == 0:
            rc = libpam.pam_acct_mgmt(handle, 0)
        libpam.pam_end(handle, rc)
    threads1, fds1 = snapshot()
    print(json.dumps({"rc": rc, "threads": [threads0, threads1], "fds": [fds0, fds1]}))


if __name__ == "__main__":
    main()

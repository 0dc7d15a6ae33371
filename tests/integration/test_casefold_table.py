"""common/casefold_table.c is what tests/tools/gen_casefold.py writes: the committed table and its
documented generator agree (checked when this Python has the table's Unicode version)."""

import os
import re
import subprocess
import sys
import unicodedata

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TABLE = os.path.join(ROOT, "common", "casefold_table.c")


def test_table_is_the_generators_output():
    with open(TABLE) as f:
        committed = f.read()
    version = re.search(r'casefold_unicode_version\[\] = "([^"]+)"', committed).group(1)
    if version != unicodedata.unidata_version:
        pytest.skip("table is Unicode %s, this Python has %s" % (version, unicodedata.unidata_version))
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "tools", "gen_casefold.py")],
                         capture_output=True, text=True, check=True).stdout
    assert out == committed, "rerun: python3 tests/tools/gen_casefold.py > common/casefold_table.c"

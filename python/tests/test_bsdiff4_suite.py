"""bsdiff4's own test suite (``bsdiff4/test_all.py`` of its 1.3.2 sdist on PyPI), run with its
public names taken from chunkdelta: ``diff``, ``patch``, ``file_diff``, ``file_patch`` and
``file_patch_inplace``. ``scripts/test-python.sh`` downloads the sdist (hash-pinned) and
extracts the file; ``BSDIFF4_TEST_ALL`` names it.

The tests of bsdiff4's internals (``bsdiff4.core``: its integer coding, suffix array and diff
blocks; ``bsdiff4.format``'s patch reader) test bsdiff4 itself, not these names, and are
listed apart: the suite must hold exactly the tests named here, so a changed suite is noticed.
"""

from __future__ import annotations

import os
import types
import unittest
from pathlib import Path

import pytest

IMPORT = "from bsdiff4 import diff, patch, file_diff, file_patch, file_patch_inplace\n"

PUBLIC = [
    "TestFormat.test_example",
    "TestFormat.test_zero",
    "TestFormat.test_edge_cases",
    "TestFormat.test_extra",
    "TestFormat.test_small",
    "TestFormat.test_random",
    "TestFormat.test_large",
    "TestFormat.test_compatibility",
    "TestFormat.test_truncated_patch",
    "TestFormat.test_mutated_patch",
    "TestFile.test_1",
    "TestFile.test_2",
    "TestFile.test_inplace",
]

INTERNAL = [
    "TestEncode.test_special_values",
    "TestEncode.test_errors",
    "TestEncode.test_random",
    "TestHelpers.test_control_block",
    "TestHelpers.test_header",
    "TestFormat.test_diff_blocks",
    "TestFormat.test_corrupt",
    "TestFormat.test_underflow",
    "TestFormat.test_oldpos_out_of_range",
    "TestFormat.test_oldpos_overflow",
    "TestFormat.test_malformed_patch",
    "TestFormat.test_header_only",
    "TestFormat.test_adjust_overlap",
    "TestSuffixArray.test_basic",
    "TestSuffixArray.test_two_element_group",
    "TestSuffixArray.test_random",
    "TestFile.test_wrong_header",
]


def load_suite() -> types.ModuleType:
    """bsdiff4's test module, its one import of the public names pointed at chunkdelta."""
    path = Path(os.environ.get("BSDIFF4_TEST_ALL", ""))
    if not path.is_file():
        pytest.fail("bsdiff4's test_all.py is missing: run scripts/test-python.sh, or set BSDIFF4_TEST_ALL")
    source = path.read_text()
    assert source.count(IMPORT) == 1, "bsdiff4's suite no longer imports its names in one line"
    module = types.ModuleType("bsdiff4_test_all_on_chunkdelta")
    module.__file__ = str(path)
    exec(compile(source.replace(IMPORT, IMPORT.replace("bsdiff4", "chunkdelta")), str(path), "exec"), module.__dict__)
    return module


SUITE = load_suite()


def test_the_suite_holds_exactly_the_listed_tests() -> None:
    names = set()
    for case in unittest.defaultTestLoader.loadTestsFromModule(SUITE):
        for test in case:  # type: ignore[attr-defined]
            names.add(f"{type(test).__name__}.{test._testMethodName}")
    assert names == set(PUBLIC) | set(INTERNAL)
    assert SUITE.patch.__module__ == "chunkdelta"


@pytest.mark.parametrize("name", PUBLIC)
def test_bsdiff4_public_api_test_passes_on_chunkdelta(name: str) -> None:
    class_name, method = name.split(".")
    result = unittest.TestResult()
    getattr(SUITE, class_name)(method).run(result)
    problems = result.errors + result.failures
    assert not problems, problems[0][1] if problems else ""
    assert result.testsRun == 1 and not result.skipped

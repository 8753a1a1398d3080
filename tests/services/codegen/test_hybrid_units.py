"""The hybrid engine's pure parts: reading answers, what may be written, which to repair."""

from __future__ import annotations

import pytest

from devgen.services.codegen.engines.hybrid.answer import read_answer
from devgen.services.codegen.engines.hybrid.engine import Extension, _failing_extensions
from devgen.services.codegen.engines.hybrid.protection import (
    broken_protection,
    check_write,
    content_hash,
)
from devgen.services.codegen.engines.llm import Failure
from devgen.services.codegen.engines.llm.parsing import OutputProblem

PROTECTED = {"tests/test_book.py": content_hash("def test_a():\n    assert 1\n")}


def test_an_answer_gives_its_verdict_name_explanation_files_and_deletions() -> None:
    answer = read_answer(
        "Sure!\n\n**STATUS:** implemented\nNAME: `late_fee`\nEXPLANATION: adds a fee.\n\n"
        "### app/extensions/late_fee.py\n```python\nFEE = 1\n```\n\n"
        "```python tests/test_ext_late_fee.py\ndef test_fee():\n    assert True\n```\n"
        "DELETE: app/extensions/old.py\n"
    )

    assert answer.status == "implemented"
    assert answer.name == "late_fee"
    assert answer.explanation == "adds a fee."
    assert answer.files == {
        "app/extensions/late_fee.py": "FEE = 1\n",
        "tests/test_ext_late_fee.py": "def test_fee():\n    assert True\n",
    }
    assert answer.deletes == ["app/extensions/old.py"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Here you go.", "no STATUS line"),
        ("STATUS: not_implemented", "EXPLANATION"),
        ("STATUS: implemented\nNAME: x\n```python app/extensions/x.py\ndef f(:\n```", "compile"),
    ],
)
def test_an_unusable_answer_says_what_to_fix(text: str, problem: str) -> None:
    with pytest.raises(OutputProblem, match=problem):
        read_answer(text)


def test_a_status_line_inside_code_is_not_the_answers() -> None:
    with pytest.raises(OutputProblem, match="no STATUS line"):
        read_answer("```python app/extensions/x.py\nSTATUS: implemented\n```")


@pytest.mark.parametrize(
    ("path", "content", "reason"),
    [
        ("tests/test_book.py", "def test_a():\n    pass\n", "protected"),
        ("tests/test_book.py", None, "protected"),
        ("app/rules.py", "x = 1\n", "not a designated path"),
        ("conftest.py", "x = 1\n", "not a designated path"),
        ("app/extensions/other.py", "x = 1\n", "belongs to extension 'other'"),
        ("tests/test_ext_fee.py", "import pytest\npytestmark = pytest.mark.skip\n", "skipped"),
        ("tests/test_ext_fee.py", "def pytest_collection_modifyitems(items): ...\n", "skipped"),
        ("tests/test_ext_fee.py", "from tests.test_book import test_a\n", "skipped"),
    ],
)
def test_writes_outside_the_extension_or_that_switch_tests_off_are_refused(
    path: str, content: str | None, reason: str
) -> None:
    refusal = check_write(path, content, protected=PROTECTED, allowed={"fee"})

    assert refusal is not None
    assert reason in refusal.reason
    assert refusal.action == ("delete" if content is None else "write")


def test_the_extensions_own_files_and_an_unchanged_protected_file_may_be_written() -> None:
    same = "def test_a():\n    assert 1\n"
    assert (
        check_write("app/extensions/fee.py", "x = 1\n", protected=PROTECTED, allowed={"fee"})
        is None
    )
    assert (
        check_write(
            "tests/test_ext_fee.py", "def test_x(): ...\n", protected=PROTECTED, allowed={"fee"}
        )
        is None
    )
    assert check_write("tests/test_book.py", same, protected=PROTECTED, allowed={"fee"}) is None


def test_a_changed_or_missing_protected_file_is_named() -> None:
    assert broken_protection({"tests/test_book.py": "x\n"}, PROTECTED) == [
        "tests/test_book.py: changed"
    ]
    assert broken_protection({}, PROTECTED) == ["tests/test_book.py: deleted"]


def test_the_extensions_the_failures_name_are_repaired_else_all() -> None:
    mail = Extension("s1", "r", "implemented", "x", name="mail")
    page = Extension("s2", "r", "implemented", "x", name="page")
    dropped = Extension("s3", "r", "not_implemented", "no way")
    every = [mail, page, dropped]

    traceback = Failure(message='File "/workspace/app/extensions/page.py", line 3, in f')
    assert _failing_extensions(every, [traceback], "") == [page]
    assert _failing_extensions(every, [Failure(test="tests/test_ext_mail.py::test_a")], "") == [
        mail
    ]
    assert _failing_extensions(every, [Failure(test="tests/test_book.py::test_a")], "") == [
        mail,
        page,
    ]

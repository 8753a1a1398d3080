"""``devgen generate TEXT``: a file's path reads the file, any other text is the requirement."""

from __future__ import annotations

import pytest
import typer
from hypothesis import given
from hypothesis import strategies as st

from devgen.cli.generate import _read_requirement

LONG = (
    "A lending library for a small town: members borrow books and return them; each book "
    "has a title, an author and an ISBN; a member can have at most three books at a time; "
    "a loan lasts two weeks and may be renewed once; overdue loans are listed every morning."
)


def test_a_requirement_longer_than_a_file_name_is_the_requirement():
    assert len(LONG) > 255
    assert _read_requirement(LONG, None) == {"requirement": LONG}


def test_the_path_of_a_file_reads_the_file(tmp_path):
    path = tmp_path / "library.txt"
    path.write_text("A library keeps books.\n")
    assert _read_requirement(str(path), None) == {"requirement": "A library keeps books.\n"}


def test_an_unreadable_file_is_a_usage_error_not_a_traceback(tmp_path):
    path = tmp_path / "binary.txt"
    path.write_bytes(b"\xff\xfe\x00 not text")
    with pytest.raises(typer.Exit) as raised:
        _read_requirement(str(path), None)
    assert raised.value.exit_code == 2


@given(st.text(min_size=1, max_size=5000))
def test_no_text_raises_anything_but_a_clean_exit(text):
    try:
        result = _read_requirement(text, None)
    except typer.Exit:
        return
    assert result == {"requirement": text} or set(result) == {"requirement"}

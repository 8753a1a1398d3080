"""The small rules: artifact paths, labels and content sniffing."""

from __future__ import annotations

import pytest

from devgen.services.storage.labels import LabelError, check_label, parse_label_filter
from devgen.services.storage.paths import PathError, check_path, check_paths
from devgen.services.storage.sniff import sniff


@pytest.mark.parametrize(
    "path", ["a.py", "app/main.py", ".github/workflows/ci.yml", "a b/c-d_e.txt", "ünï/cödé.py"]
)
def test_good_paths_pass(path):
    assert check_path(path) == path


@pytest.mark.parametrize(
    "path", ["", "/a", "a/", "a//b", "./a", "a/./b", "../a", "a/..", "a\\b", "C:x", "a\tb"]
)
def test_bad_paths_fail(path):
    with pytest.raises(PathError):
        check_path(path)


def test_paths_must_not_clash():
    assert check_paths(["b", "a/c", "a/d"]) == ["a/c", "a/d", "b"]
    for clash in (["a", "A"], ["a", "a/b"], ["A/b", "a/c", "a"]):
        with pytest.raises(PathError):
            check_paths(clash)


@pytest.mark.parametrize(
    ("key", "value"), [("team", "core"), ("a", ""), ("app.kubernetes.io", "x" * 256)]
)
def test_good_labels_pass(key, value):
    check_label(key, value)


@pytest.mark.parametrize(
    ("key", "value"), [("", "v"), ("Team", "v"), ("a_", "v"), ("k" * 64, "v"), ("k", "a\nb")]
)
def test_bad_labels_fail(key, value):
    with pytest.raises(LabelError):
        check_label(key, value)


def test_label_filters_take_a_key_or_a_pair():
    assert parse_label_filter("team") == ("team", None)
    assert parse_label_filter("team=core") == ("team", "core")
    assert parse_label_filter("team=") == ("team", "")


def test_text_cut_in_the_middle_of_a_character_is_still_text():
    head = ("é" * 10).encode()[:-1]
    assert sniff(head, None, complete=False) == "text/plain"
    assert sniff(head, None, complete=True) == "application/octet-stream"


def test_a_byte_order_mark_is_text():
    assert sniff(b"\xef\xbb\xbf{}", None) == "application/json"

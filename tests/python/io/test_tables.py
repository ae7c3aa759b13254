"""radnomo.io.tables.read_table: clinical tables and manifests as users give them."""

from __future__ import annotations

import pytest

from radnomo.errors import InputError
from radnomo.io.tables import read_table


def test_reads_csv_with_text_ids(tmp_path):
    p = tmp_path / "clinical.csv"
    p.write_text("patient_id,age\n007,60\n", encoding="utf-8")
    df = read_table(p)
    assert df["patient_id"].tolist() == ["007"] and df["age"].tolist() == [60]


@pytest.mark.parametrize("content, needle", [(b"", "is empty"), (b"\xff\xfe\x00bad", "could not be read")])
def test_empty_or_unreadable_table_is_a_named_input_error(tmp_path, content, needle):
    """A 0-byte clinical CSV gave a pandas traceback (EmptyDataError) from radnomo run / predict."""
    p = tmp_path / "clinical.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=needle) as err:
        read_table(p)
    assert str(p) in str(err.value)


def test_unsupported_suffix_and_missing_file(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(InputError, match="unsupported format"):
        read_table(tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "missing.csv")

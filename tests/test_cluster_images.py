import csv
import zipfile

import pytest

import image_types
from conftest import SHARED_ZIP, run_script


def read_rows(path):
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def fit_clusters(data, out, *options, table="c.csv", model="m.joblib"):
    """Run cluster_images.py on data, writing the table, model and figures into out."""
    return run_script(
        "cluster_images.py", "--data", data, "--table", out / table, "--model", out / model, "--figures", out, *options
    )


def test_fit_writes_table_model_and_figures(sample_dir, tmp_path):
    result = fit_clusters(sample_dir / "stage1_train", tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = read_rows(tmp_path / "c.csv")
    ids = sorted(p.name for p in (sample_dir / "stage1_train").iterdir())
    assert [row["ImageId"] for row in rows] == ids
    assert {row["cluster_name"] for row in rows} == set(image_types.TYPE_NAMES)
    assert (tmp_path / "clusters.png").stat().st_size > 10_000
    assert (tmp_path / "data_overview.png").stat().st_size > 10_000
    again = fit_clusters(sample_dir / "stage1_train", tmp_path, "--no-overview", table="c2.csv", model="m2.joblib")
    assert again.returncode == 0
    assert (tmp_path / "c.csv").read_bytes() == (tmp_path / "c2.csv").read_bytes()

    predicted = run_script(
        "cluster_images.py",
        "--predict",
        sample_dir / "stage1_test",
        "--model",
        tmp_path / "m.joblib",
        "--csv",
        tmp_path / "test_types.csv",
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "3 images in" in predicted.stdout
    assert len(read_rows(tmp_path / "test_types.csv")) == 3


def test_names_follow_the_centres_not_the_index():
    centres = [[0.8, 0.8, 0.9], [0.05, 0.05, 0.0], [0.9, 0.9, 0.1]]
    assert image_types.name_clusters(centres) == ["histology", "fluorescence", "brightfield"]


def test_shipped_table_is_keyed_by_image_id():
    rows = read_rows(image_types.DEFAULT_CLUSTER_TABLE)
    assert set(rows[0]) == {"ImageId", "cluster", "cluster_name"}
    counts = {name: sum(row["cluster_name"] == name for row in rows) for name in image_types.TYPE_NAMES}
    assert counts == {"fluorescence": 491, "brightfield": 14, "histology": 96}
    bundle = image_types.load_cluster_model()
    assert sorted(bundle["cluster_names"]) == sorted(image_types.TYPE_NAMES)


@pytest.mark.parametrize(
    "content, message",
    [
        ("ImageId,cluster\nabc,0\n", r"lacks the column\(s\) cluster_name"),
        ("ImageId,cluster,cluster_name\n../../etc,0,histology\n", "invalid ImageId"),
        ("ImageId,cluster,cluster_name\nabc,0,plants\n", "unknown cluster_name"),
    ],
)
def test_bad_cluster_tables_are_rejected_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(image_types.UserError, match=message):
        image_types.read_cluster_table(path)


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED_ZIP.is_file(), reason="the development data is not beside the project")
def test_shipped_files_are_reproduced_from_the_development_images(tmp_path):
    with zipfile.ZipFile(SHARED_ZIP) as archive:
        archive.extractall(tmp_path, [name for name in archive.namelist() if "/images/" in name])
    result = fit_clusters(tmp_path / "stage1_train", tmp_path, "--no-overview")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "c.csv").read_bytes() == image_types.DEFAULT_CLUSTER_TABLE.read_bytes()

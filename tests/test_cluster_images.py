"""cluster_images.py, and the image types it finds (nuclei.data.image_types, clustering)."""

import csv
import zipfile

import numpy as np
import pytest

from conftest import SHARED_ZIP, run_script
from nuclei.data import image_types
from nuclei.errors import UserError


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


def test_k_means_finds_and_names_three_well_separated_types(tmp_path):
    from nuclei.data.clustering import fit_clusters, write_table

    centres = {"fluorescence": (0.05, 0.1, 0.1), "brightfield": (0.8, 0.75, 0.1), "histology": (0.8, 0.7, 0.9)}
    rng = np.random.default_rng(0)
    truth = [name for name in centres for _ in range(5)]
    features = np.array([centres[name] for name in truth]) + rng.normal(0, 0.01, (len(truth), 3))
    kmeans, names = fit_clusters(features, seed=0)
    assert [names[cluster] for cluster in kmeans.labels_] == truth
    ids = [f"id{index:02d}" for index in range(len(truth))]
    write_table(tmp_path / "types.csv", ids[::-1], kmeans.labels_[::-1], names)
    assert [(row["ImageId"], row["cluster_name"]) for row in read_rows(tmp_path / "types.csv")] == list(zip(ids, truth))
    typer = image_types.ImageTyper(tmp_path / "types.csv", tmp_path / "missing.joblib")
    assert typer.type_of("id05", None) == "brightfield" and typer.table_path == tmp_path / "types.csv"


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
    with pytest.raises(UserError, match=message):
        image_types.read_cluster_table(path)


@pytest.mark.real_data
@pytest.mark.skipif(not SHARED_ZIP.is_file(), reason="the development data is not beside the project")
def test_shipped_files_are_reproduced_from_the_development_images(tmp_path):
    with zipfile.ZipFile(SHARED_ZIP) as archive:
        archive.extractall(tmp_path, [name for name in archive.namelist() if "/images/" in name])
    result = fit_clusters(tmp_path / "stage1_train", tmp_path, "--no-overview")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "c.csv").read_bytes() == image_types.DEFAULT_CLUSTER_TABLE.read_bytes()

"""The evaluate command on a tiny dataset with only fast models."""
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.conftest import TINY_MOVIES, write_dataset


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["userId,movieId,rating,timestamp"]
    for user in range(1, 31):
        for t, movie in enumerate(rng.choice([1, 2, 3, 4, 5], size=5, replace=False)):
            lines.append(f"{user},{movie},{rng.integers(1, 6)}.0,{1000 + t}")
    return write_dataset(tmp_path / "ds", movies_csv=TINY_MOVIES, ratings_csv="\n".join(lines) + "\n")


def test_evaluate_writes_the_table_as_json(dataset, tmp_path, capsys):
    output = tmp_path / "out" / "evaluation.json"
    call_command("evaluate", data=dataset, models="popularity,damped-mean", ks="1,2", output=output, seed=3,
                 protocol="both")
    data = json.loads(output.read_text())
    assert set(data) == {"settings", "protocols", "metrics", "rows"}
    assert data["settings"]["seed"] == 3 and data["settings"]["ks"] == [1, 2]
    assert set(data["protocols"]) == {"warm", "cold"}
    assert {(r["model"], r["protocol"], r["k"]) for r in data["rows"]} == {
        (m, "warm", None) for m in ("popularity", "damped-mean")} | {
        (m, "cold", k) for m in ("popularity", "damped-mean") for k in (1, 2)}
    assert set(data["metrics"]) <= set(data["rows"][0])
    printed = capsys.readouterr().out
    assert "Protocol: warm" in printed and "Protocol: cold start" in printed and "ndcg@10" in printed


def test_evaluate_refuses_bad_input(dataset, tmp_path):
    with pytest.raises(CommandError, match="Unknown model"):
        call_command("evaluate", data=dataset, models="popularity,magic", output=tmp_path / "x.json")
    with pytest.raises(CommandError, match="not a MovieLens dataset"):
        call_command("evaluate", data=tmp_path / "nowhere", models="popularity", output=tmp_path / "x.json")
    with pytest.raises(CommandError, match="--ks"):
        call_command("evaluate", data=dataset, models="popularity", ks="a,b", output=tmp_path / "x.json")
    with pytest.raises(CommandError, match="--seeds"):
        call_command("evaluate", data=dataset, models="popularity", seeds="1,1", output=tmp_path / "x.json")
    assert not (tmp_path / "x.json").exists()


def test_evaluate_over_seeds_prints_and_saves_mean_and_std(dataset, tmp_path, capsys):
    output = tmp_path / "evaluation.json"
    call_command("evaluate", data=dataset, models="popularity", ks="1", output=output, seeds="1,2", protocol="both")
    data = json.loads(output.read_text())
    assert data["seeds"] == [1, 2] and [r["settings"]["seed"] for r in data["per_seed"]] == [1, 2]
    cold = next(r for r in data["summary"] if r["protocol"] == "cold")
    values = [next(r["ndcg@10"] for r in seed["rows"] if r["protocol"] == "cold") for seed in data["per_seed"]]
    assert cold["seeds"] == 2 and cold["ndcg@10"]["mean"] == pytest.approx(np.mean(values))
    assert "Mean ± std (ddof=1) over seeds 1, 2:" in capsys.readouterr().out


def test_evaluate_leave_one_out_skips_people_without_enough_unrated_movies(dataset, tmp_path, capsys):
    output = tmp_path / "evaluation.json"
    call_command("evaluate", data=dataset, models="popularity", output=output, protocol="loo")
    data = json.loads(output.read_text())
    # everybody rated all five movies: nobody has 100 never-rated movies to rank against
    assert data["protocols"]["loo"]["skipped_users"] == 30 and data["protocols"]["loo"]["test_users"] == 0
    assert "Protocol: leave-one-out" in capsys.readouterr().out


@pytest.mark.slow
def test_evaluate_tunes_and_reports_the_product(dataset, tmp_path, capsys):
    output = tmp_path / "evaluation.json"
    call_command("evaluate", data=dataset, models="popularity,product", ks="1", output=output, seed=3,
                 epochs=1, tune_product=True, protocol="both")
    data = json.loads(output.read_text())
    printed = capsys.readouterr().out
    # No content index was built in the test settings: the product says it runs without it.
    assert "product: content part off (run build_content to add it)" in printed
    assert "tuned product weights: new " in printed
    # Five movies and no one with 100 ratings: nothing to learn the regular weights from.
    assert "keeping the default regular weights" in printed
    tuned = data["settings"]["product_weights"]
    assert tuned["regular"] == [0.5, 0.3, 0.2]
    # No content index, so no content gate to choose: the product was evaluated without one.
    assert data["settings"]["product_content_gate"] is None
    assert "content gate None" in printed
    assert "stars: NCF share " in printed
    assert data["settings"]["product_stars_share"] in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0)
    assert set(tuned) == {"new", "regular", "new_until", "regular_from"}
    assert abs(sum(tuned["new"]) - 1) < 1e-9 and abs(sum(tuned["regular"]) - 1) < 1e-9
    assert {(r["model"], r["protocol"], r["k"], r["list"]) for r in data["rows"] if r["model"] == "product"} == {
        ("product", "warm", None, "strict top-10"), ("product", "warm", None, "shuffled top-30"),
        ("product", "cold", 1, "strict top-10"), ("product", "cold", 1, "shuffled top-30")}

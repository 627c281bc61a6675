"""The /analytics/ dashboard: renders with nothing, draws real SVG charts, computes once per data/model."""
import hashlib
import json
import re
import threading

import numpy as np
import pytest
from django.urls import reverse

from movies.analytics import charts as analytics
from movies.engine import content
from movies.models import Genre, Movie, Rating

pytestmark = pytest.mark.django_db


def fake_encode(texts):
    out = np.zeros((len(texts), 16), np.float32)
    for i, text in enumerate(texts):
        for word in re.findall(r"[a-z]+", text.lower()):
            out[i, int(hashlib.sha1(word.encode()).hexdigest(), 16) % 16] += 1.0
    return out


@pytest.fixture(autouse=True)
def isolated_dirs(settings, tmp_path):
    settings.CACHE_DIR = tmp_path / "cache"
    settings.DATA_DIR = tmp_path / "data"
    settings.MODEL_DIR = tmp_path / "models"
    content.content_reset()
    analytics.analytics_reset()
    yield
    content.content_reset()
    analytics.analytics_reset()


@pytest.fixture
def catalog():
    names = ["Action", "Comedy", "Drama"]
    genres = [Genre.objects.create(name=n) for n in names]
    for pk in range(1, 13):
        movie = Movie.objects.create(id=pk, title=f"{names[pk % 3]} film {pk}", year=2000 + pk, rating_count=2)
        movie.genres.set([genres[pk % 3]])
    for user in (1, 2):
        for pk in range(1, 13):
            Rating.objects.create(user_id=user, movie_id=pk, rating=[1.0, 3.5, 5.0][pk % 3], timestamp=1)


def write_model(model_dir, history):
    artifact = model_dir / "ncf-1"
    artifact.mkdir(parents=True)
    (artifact / "metadata.json").write_text(json.dumps({"history": history}))
    (model_dir / "CURRENT").write_text("ncf-1")


def write_evaluation(data_dir):
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "evaluation.json").write_text(json.dumps({
        "settings": {"seed": 42, "relevant_stars": 4.0},
        "metrics": ["ndcg@10", "rmse"],
        "rows": [{"model": "ease", "protocol": "cold", "k": 5, "list": "strict top-10", "ndcg@10": 0.123456,
                  "rmse": None, "users": 61}],
    }))


def test_dashboard_renders_with_empty_catalog_and_no_model(client):
    response = client.get(reverse("analytics:dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "analytics-chart__svg" not in body
    assert "No ratings yet" in body
    assert "run `python manage.py build_content`" in body
    assert "No trained model yet" in body
    assert "python manage.py evaluate" in body
    assert "Content part of the recommendations: off (no text index" in body


def test_dashboard_draws_every_chart_and_the_evaluation_table(client, settings, catalog):
    content.content_build(encoder=fake_encode)
    write_model(settings.MODEL_DIR, [{"epoch": 1, "loss": 0.9, "val_loss": 1.0, "val_rmse": 1.1, "seconds": 1},
                                     {"epoch": 2, "loss": 0.7, "val_loss": 0.8, "val_rmse": 0.95, "seconds": 1}])
    write_evaluation(settings.DATA_DIR)
    response = client.get("/analytics/")
    assert response.status_code == 200
    charts = {chart.name: chart for chart in response.context["data"].charts}
    assert set(charts) == set(analytics.CHART_NAMES)
    for chart in charts.values():
        assert chart.svg.startswith("<svg"), chart.name
        assert chart.empty == ""
    body = response.content.decode()
    assert body.count("class=\"analytics-chart__svg\"") == 5
    assert "0.1235" in body and "cold k=5" in body
    assert response.context["data"].summary == {"movies": 12, "ratings": 24, "users": 2, "embedded": 12}
    assert "Content part of the recommendations: on (the text index is loaded)." in body


def test_dashboard_says_while_the_content_index_is_being_built(client, monkeypatch):
    building = threading.Event()
    building.set()
    monkeypatch.setattr(content, "_building", building)
    body = client.get("/analytics/").content.decode()
    assert "Content part of the recommendations: off while the text index is being built" in body


def test_charts_are_computed_once_then_read_from_disk(client, catalog, monkeypatch):
    calls = []
    real = analytics.analytics_compute
    monkeypatch.setattr(analytics, "analytics_compute", lambda fp: calls.append(fp) or real(fp))
    client.get("/analytics/")
    client.get("/analytics/")
    assert len(calls) == 1
    analytics.analytics_reset()  # a fresh worker: reads the stored charts, draws nothing
    assert client.get("/analytics/").status_code == 200
    assert len(calls) == 1
    Rating.objects.create(user_id=3, movie_id=1, rating=4.0, timestamp=2)  # new data: new charts
    client.get("/analytics/")
    assert len(calls) == 2 and calls[0] != calls[1]


def test_model_without_history_and_broken_evaluation_are_explained(client, settings, catalog):
    write_model(settings.MODEL_DIR, [])
    settings.DATA_DIR.mkdir(parents=True)
    (settings.DATA_DIR / "evaluation.json").write_text("{not json")
    body = client.get("/analytics/").content.decode()
    assert "The current model saved no training history." in body
    assert "evaluation.json could not be read" in body


def test_dashboard_is_get_only(client):
    assert client.post("/analytics/").status_code == 405

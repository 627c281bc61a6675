"""The analytics dashboard's data (seed 004): charts as server-rendered SVG, computed once.

Everything is keyed by a fingerprint of what it is drawn from (ratings and catalog counts,
the content index files, the current model, ``evaluation.json``). The first request after
any of those changes draws the charts (a few seconds) and stores them under
``CACHE_DIR/analytics/<fingerprint>/``; every later request, in any worker, reads the files.

Charts: rating distribution, ratings per genre, the genre-by-genre similarity heatmap (from
the content embeddings), a 2-D PCA map of the most-rated movies' embeddings coloured by
genre, and the model's training curve. The evaluation table comes from
``DATA_DIR/evaluation.json`` (``manage.py evaluate``).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db.models import Count, Sum

logger = logging.getLogger(__name__)

CACHE_VERSION = "2"  # bump when the charts' code changes, so old SVGs are not served
MAP_SAMPLE = 2000  # movies on the embedding map: the most rated ones
MAP_GENRES = 8  # genres with their own colour on the map; the rest are "Other"
EVALUATION_METRICS = ("ndcg@10", "precision@10", "recall@10", "hit_rate@10", "mrr@10", "genre_ndcg@10",
                      "coverage@10", "rmse")
CHART_NAMES = ("ratings", "genres", "heatmap", "map", "training")

_memo: dict = {"key": None, "data": None}
_memo_lock = threading.Lock()


@dataclass
class Chart:
    name: str
    title: str
    svg: str = ""  # inline SVG markup; empty when there is nothing to draw
    empty: str = ""  # why there is no chart (shown instead)
    caption: str = ""


@dataclass
class Analytics:
    fingerprint: str
    charts: list[Chart] = field(default_factory=list)
    evaluation: dict | None = None  # {"metrics": [...], "rows": [...], "settings": {...}}
    evaluation_error: str = ""
    summary: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- fingerprint


def _file_stamp(path: Path) -> str:
    try:
        stat = Path(path).stat()
    except OSError:
        return "-"
    return f"{stat.st_mtime_ns}:{stat.st_size}"


def evaluation_path() -> Path:
    return Path(settings.DATA_DIR) / "evaluation.json"


def _model_path() -> Path | None:
    from recsys.ncf import artifacts

    return artifacts.current_path(Path(settings.MODEL_DIR))


def analytics_fingerprint() -> str:
    """Changes whenever anything the page draws from changes (3 cheap queries + 3 stats)."""
    from movies.engine.content import content_dir
    from movies.models import Movie, Rating

    ratings = Rating.objects.aggregate(n=Count("id"), s=Sum("rating"))
    movies = Movie.objects.aggregate(n=Count("id"), r=Sum("rating_count"))
    model = _model_path()
    parts = [CACHE_VERSION, ratings["n"], ratings["s"], movies["n"], movies["r"],
             _file_stamp(content_dir() / "embeddings.npy"), str(model) if model else "-",
             _file_stamp(evaluation_path())]
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- charts


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buffer.getvalue()
    # Inline markup: drop the XML prolog and DOCTYPE, let CSS size the chart.
    text = text[text.index("<svg"):]
    return re.sub(r'(<svg[^>]*?)\s(width|height)="[^"]*"', r"\1", text, count=2)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; safe in web workers
    import matplotlib.pyplot as plt

    # Text stays <text> (escaped by matplotlib's SVG writer): pages are several times smaller than with paths.
    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "analytics", "font.size": 9,
                         "axes.spines.top": False, "axes.spines.right": False})
    return plt


def chart_rating_distribution() -> Chart:
    from movies.models import Rating

    chart = Chart("ratings", "Rating distribution", caption="How many MovieLens ratings gave each number of stars.")
    counts = dict(Rating.objects.values_list("rating").annotate(n=Count("id")).values_list("rating", "n"))
    if not counts:
        chart.empty = "No ratings yet: import MovieLens with `python manage.py import_movielens`."
        return chart
    plt = _pyplot()
    stars = [s / 2 for s in range(1, 11)]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(range(len(stars)), [counts.get(s, 0) for s in stars], color="#e8a33d")
    ax.set_xticks(range(len(stars)), [f"{s:g}" for s in stars])
    ax.set_xlabel("stars")
    ax.set_ylabel("ratings")
    chart.svg = _svg(fig)
    return chart


def chart_ratings_per_genre() -> Chart:
    from movies.models import Genre

    chart = Chart("genres", "Ratings per genre",
                  caption="Ratings of movies in each genre (a movie counts for each of its genres).")
    rows = [(name, n or 0) for name, n in
            Genre.objects.annotate(n=Sum("movies__rating_count")).values_list("name", "n")]
    rows = sorted((r for r in rows if r[1] > 0), key=lambda r: r[1])
    if not rows:
        chart.empty = "No rated movies yet."
        return chart
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, max(2.5, 0.22 * len(rows))))
    ax.barh([r[0] for r in rows], [r[1] for r in rows], color="#5b8def")
    ax.set_xlabel("ratings")
    chart.svg = _svg(fig)
    return chart


def _genres_by_movie(movie_ids) -> dict[int, list[str]]:
    from movies.models import Movie

    out: dict[int, list[str]] = {}
    for movie_id, name in Movie.genres.through.objects.filter(movie_id__in=list(map(int, movie_ids))).order_by(
            "movie_id", "genre__name").values_list("movie_id", "genre__name"):
        out.setdefault(movie_id, []).append(name)
    return out


def chart_genre_heatmap(index) -> Chart:
    from recsys.content.genres import genre_embeddings, genre_similarity

    chart = Chart("heatmap", "Genre similarity",
                  caption="Cosine similarity of genre embeddings (each the mean of its movies' sentence embeddings).")
    if index is None or len(index) == 0 or index.embeddings.shape[1] == 0:
        chart.empty = "No content index yet: run `python manage.py build_content`."
        return chart
    names, matrix = genre_embeddings(_genres_by_movie(index.items.ids), index.items, index.embeddings)
    if len(names) < 2:
        chart.empty = "Fewer than two genres in the catalog."
        return chart
    sim = genre_similarity(matrix)
    plt = _pyplot()
    size = max(4.0, 0.38 * len(names))
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    image = ax.imshow(sim, cmap="magma", vmin=float(sim.min()), vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=60, ha="right")
    ax.set_yticks(range(len(names)), names)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="cosine")
    chart.svg = _svg(fig)
    return chart


def chart_embedding_map(index) -> Chart:
    from movies.models import Movie

    chart = Chart("map", "Movie map",
                  caption=f"The {MAP_SAMPLE:,} most-rated movies' sentence embeddings projected to 2-D (PCA), "
                          "coloured by first genre.")
    if index is None or len(index) < 3 or index.embeddings.shape[1] == 0:
        chart.empty = "No content index yet: run `python manage.py build_content`."
        return chart
    popular = list(Movie.objects.filter(pk__in=[int(m) for m in index.items.ids]).order_by(
        "-rating_count", "id").values_list("id", flat=True)[:MAP_SAMPLE])
    rows = index.items.indices(popular)
    rows = rows[rows >= 0]
    if rows.size < 3:
        chart.empty = "Too few movies to draw a map."
        return chart
    vectors = index.embeddings[rows].astype(np.float64)
    vectors -= vectors.mean(axis=0)
    # PCA by SVD of the centred sample: the first two right singular vectors are the axes.
    _, _, vt = np.linalg.svd(vectors, full_matrices=False)
    points = vectors @ vt[:2].T
    genres = _genres_by_movie(index.items.ids[rows])
    first = [(genres.get(int(m)) or ["(none)"])[0] for m in index.items.ids[rows]]
    common = [g for g, _ in sorted(((g, first.count(g)) for g in set(first)), key=lambda p: (-p[1], p[0]))][:MAP_GENRES]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 5))
    palette = plt.get_cmap("tab10")
    labels = np.asarray([g if g in common else "Other" for g in first])
    for i, genre in enumerate([*common, "Other"]):
        mask = labels == genre
        if mask.any():
            ax.scatter(points[mask, 0], points[mask, 1], s=6, alpha=0.7, label=genre,
                       color="#9a9a9a" if genre == "Other" else palette(i % 10), linewidths=0)
    ax.set_xlabel("component 1")
    ax.set_ylabel("component 2")
    ax.legend(markerscale=3, fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    chart.svg = _svg(fig)
    return chart


def chart_training_curve() -> Chart:
    from recsys.ncf import artifacts

    chart = Chart("training", "Training curve", caption="The current model's loss per epoch (training and validation).")
    path = _model_path()
    if path is None:
        chart.empty = "No trained model yet: run `python manage.py train_ncf`."
        return chart
    try:
        history = artifacts.read_metadata(path).get("history") or []
    except artifacts.ArtifactError:
        history = []
    epochs = [h for h in history if isinstance(h, dict) and "epoch" in h and "loss" in h]
    if not epochs:
        chart.empty = "The current model saved no training history."
        return chart
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3))
    x = [h["epoch"] for h in epochs]
    ax.plot(x, [h["loss"] for h in epochs], marker="o", label="training loss", color="#e8a33d")
    if all(h.get("val_loss") is not None for h in epochs):
        ax.plot(x, [h["val_loss"] for h in epochs], marker="o", label="validation loss", color="#5b8def")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if all(h.get("val_rmse") is not None for h in epochs):
        twin = ax.twinx()
        twin.plot(x, [h["val_rmse"] for h in epochs], linestyle="--", color="#7cc576", label="validation RMSE")
        twin.set_ylabel("validation RMSE (stars)")
        twin.spines["right"].set_visible(True)
        handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
        ax.legend(handles=handles, frameon=False, fontsize=8)
    else:
        ax.legend(frameon=False, fontsize=8)
    chart.svg = _svg(fig)
    return chart


def read_evaluation() -> tuple[dict | None, str]:
    """``(table, error)`` from ``evaluation.json``: rows reduced to the shown metrics."""
    path = evaluation_path()
    if not path.is_file():
        return None, ""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        rows = report["rows"]
        metrics = [m for m in EVALUATION_METRICS if any(m in row for row in rows)]
        table = [{"model": str(row.get("model", "?")), "protocol": str(row.get("protocol", "")),
                  "k": row.get("k"), "list": str(row.get("list", "")), "users": row.get("users"),
                  "values": [row.get(m) for m in metrics]} for row in rows]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"{path.name} could not be read ({exc.__class__.__name__}); run `python manage.py evaluate` again."
    return {"metrics": metrics, "rows": table, "settings": report.get("settings", {})}, ""


# --------------------------------------------------------------------------- compute + cache


def analytics_compute(fingerprint: str) -> Analytics:
    """Draw every chart (seconds; only when the fingerprint changed)."""
    from movies.engine.content import content_index
    from movies.models import Movie, Rating

    try:
        index = content_index()
    except Exception:
        logger.exception("content index unavailable for analytics")
        index = None
    charts = []
    for name, draw in (("ratings", chart_rating_distribution), ("genres", chart_ratings_per_genre),
                       ("heatmap", lambda: chart_genre_heatmap(index)), ("map", lambda: chart_embedding_map(index)),
                       ("training", chart_training_curve)):
        try:
            charts.append(draw())
        except Exception:  # one broken chart must not take the page down
            logger.exception("analytics chart %s failed", name)
            charts.append(Chart(name, name.title(), empty="This chart could not be drawn; see the server log."))
    evaluation, error = read_evaluation()
    summary = {"movies": Movie.objects.count(), "ratings": Rating.objects.count(),
               "users": Rating.objects.values("user_id").distinct().count(),
               "embedded": len(index) if index is not None else 0}
    return Analytics(fingerprint=fingerprint, charts=charts, evaluation=evaluation,
                     evaluation_error=error, summary=summary)


def _cache_file(fingerprint: str) -> Path:
    return Path(settings.CACHE_DIR) / "analytics" / fingerprint / "analytics.json"


def _load(fingerprint: str) -> Analytics | None:
    try:
        data = json.loads(_cache_file(fingerprint).read_text(encoding="utf-8"))
        data["charts"] = [Chart(**c) for c in data["charts"]]
        return Analytics(**data)
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _store(analytics: Analytics) -> None:
    path = _cache_file(analytics.fingerprint)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(asdict(analytics)), encoding="utf-8")
    os.replace(tmp, path)  # readers in other workers see the whole file or none


def analytics_get() -> Analytics:
    """The dashboard's data for the current data and model: from memory, else from the disk
    cache, else computed once and stored."""
    fingerprint = analytics_fingerprint()
    with _memo_lock:
        if _memo["key"] == fingerprint:
            return _memo["data"]
        data = _load(fingerprint)
        if data is None:
            data = analytics_compute(fingerprint)
            try:
                _store(data)
            except OSError:
                logger.exception("could not cache analytics under %s", settings.CACHE_DIR)
        _memo["key"], _memo["data"] = fingerprint, data
        return data


def analytics_reset() -> None:
    """Forget the in-memory copy (tests)."""
    with _memo_lock:
        _memo["key"], _memo["data"] = None, None

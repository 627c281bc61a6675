"""The analytics dashboard at /analytics/: charts drawn once per data/model, read from cache."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from movies.analytics.charts import analytics_get
from movies.engine.content import content_status


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    data = analytics_get()
    charts = {chart.name: chart for chart in data.charts}
    # Read per request, not with the cached charts: it changes when a background build finishes.
    return render(request, "analytics/dashboard.html",
                  {"data": data, "charts": charts, "content_state": content_status()})

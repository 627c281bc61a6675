"""The analytics dashboard at /analytics/: charts drawn once per data/model, read from cache."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from movies.analytics.charts import analytics_get


@require_safe
def dashboard(request: HttpRequest) -> HttpResponse:
    data = analytics_get()
    charts = {chart.name: chart for chart in data.charts}
    return render(request, "analytics/dashboard.html", {"data": data, "charts": charts})

"""JSON API (placeholder until the engine lands)."""
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def recommendations(request):
    return JsonResponse({"recommendations": [], "model": {"status": "training", "trained_at": None, "kind": "popularity"}})

"""Placeholder views; the rating grid replaces these."""
from django.http import HttpResponse
from django.shortcuts import get_object_or_404

from .models import Movie


def home(request):
    return HttpResponse("Movie recommender: under construction.")


def movie_detail(request, movie_id: int):
    movie = get_object_or_404(Movie, pk=movie_id)
    return HttpResponse(str(movie))

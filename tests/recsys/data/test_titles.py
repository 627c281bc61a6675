"""MovieLens titles: the year split off, and the article put back in front for people to read."""
import pytest

from recsys.data.titles import franchise_key, natural_title, split_title_year, title_variants


@pytest.mark.parametrize("raw, expected", [
    ("Heat (1995)", ("Heat", 1995)),
    ("(500) Days of Summer (2009)", ("(500) Days of Summer", 2009)),
    ("Fawlty Towers (1975-1979)", ("Fawlty Towers", 1975)),
    ("Babylon 5", ("Babylon 5", None)),
])
def test_split_title_year(raw, expected):
    assert split_title_year(raw) == expected


@pytest.mark.parametrize("stored, natural", [
    ("Matrix, The", "The Matrix"),
    ("Christmas Story, A", "A Christmas Story"),
    ("American in Paris, An", "An American in Paris"),
    ("Cité des enfants perdus, La", "La Cité des enfants perdus"),
    ("City of Lost Children, The (Cité des enfants perdus, La)",
     "The City of Lost Children (La Cité des enfants perdus)"),
    ("Amélie (Fabuleux destin d'Amélie Poulain, Le)", "Amélie (Le Fabuleux destin d'Amélie Poulain)"),
    ("Umbrellas of Cherbourg, The (Parapluies de Cherbourg, Les)",
     "The Umbrellas of Cherbourg (Les Parapluies de Cherbourg)"),
    ("Postman, The (Postino, Il)", "The Postman (Il Postino)"),
    ("Avventura, L' (Adventure, The)", "L'Avventura (The Adventure)"),
    ("Timecrimes (Cronocrímenes, Los)", "Timecrimes (Los Cronocrímenes)"),
    ("Wave, The (Welle, Die)", "The Wave (Die Welle)"),
    ("Boot, Das", "Das Boot"),
    ("Dream of Light (a.k.a. Quince Tree Sun, The) (Sol del membrillo, El)",
     "Dream of Light (a.k.a. The Quince Tree Sun) (El Sol del membrillo)"),
    ("Twelve Monkeys (a.k.a. 12 Monkeys)", "Twelve Monkeys (a.k.a. 12 Monkeys)"),
    # Only a trailing article moves; commas inside a title stay.
    ("Good, the Bad and the Ugly, The", "The Good, the Bad and the Ugly"),
    ("Paris, Texas", "Paris, Texas"),
    ("Frontière(s)", "Frontière(s)"),
    ("(500) Days of Summer", "(500) Days of Summer"),
    ("(Untitled)", "(Untitled)"),
    ("Matrix, The (1999)", "The Matrix (1999)"),
    ("", ""),
])
def test_natural_title_puts_the_article_back_in_front(stored, natural):
    assert natural_title(stored) == natural


def test_title_variants_name_the_title_proper_and_each_alternative():
    assert title_variants("Amélie (Fabuleux destin d'Amélie Poulain, Le)") == [
        "Amélie (Le Fabuleux destin d'Amélie Poulain)", "Amélie", "Le Fabuleux destin d'Amélie Poulain"]
    assert title_variants("Seven (a.k.a. Se7en)") == ["Seven (a.k.a. Se7en)", "Seven", "Se7en"]
    assert title_variants("Matrix, The") == ["The Matrix"]
    assert title_variants("") == []


@pytest.mark.parametrize("title, key", [
    ("Toy Story 2", "toy story"), ("Toy Story", "toy story"),
    ("Star Wars: Episode V - The Empire Strikes Back", "star wars"),
    ("Lord of the Rings: The Two Towers, The", "lord of the rings"),
    ("Harry Potter and the Chamber of Secrets", "harry potter"),
    ("Godfather: Part II, The", "godfather"), ("Rocky III", "rocky"), ("Die Hard 2", "die hard"),
    ("Back to the Future Part II", "back to the future"), ("Kill Bill: Vol. 2", "kill bill"),
    ("Heat", "heat"), ("Seven (a.k.a. Se7en)", "seven"),
])
def test_franchise_key_groups_the_films_of_a_series(title, key):
    assert franchise_key(title) == key

"""MovieLens titles: ``"Heat (1995)"`` holds the title and the year; this is the one place
that takes them apart (the importer, the content text and the search key all use it)."""
from __future__ import annotations

import re

# "(500) Days of Summer (2009)" -> "(500) Days of Summer", 2009; "Fawlty Towers (1975-1979)" -> 1975.
_TITLE_YEAR = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-\u2013]\s*(?:\d{4})?)?\)\s*$")


def split_title_year(raw: str) -> tuple[str, int | None]:
    """The title proper and its year (None when it has none); titles without a trailing year
    ("Babylon 5") are kept whole."""
    text = (raw or "").strip()
    match = _TITLE_YEAR.match(text)
    if match and match.group("title"):
        return match.group("title"), int(match.group("year"))
    return text, None


# Articles MovieLens moves to the end ("Matrix, The", "Cité des enfants perdus, La"): English,
# French, Italian, Spanish, Portuguese, German, Dutch and Scandinavian. Case matters: "Texas" or
# "Simon" after a comma are words, not articles.
ARTICLES = (
    "The", "A", "An",
    "La", "Le", "Les", "L'", "Un", "Une",
    "Il", "Lo", "I", "Gli", "Una", "Uno",
    "El", "Los", "Las",
    "O", "Os", "As",
    "Der", "Die", "Das", "Ein", "Eine",
    "De", "Het", "Een",
    "Den", "Det", "En", "Et",
)
_ARTICLE_AT_END = re.compile(r"^(?P<body>.+?),\s+(?P<article>" + "|".join(re.escape(a) for a in ARTICLES) + r")$")
_AKA = re.compile(r"^(?P<aka>a\.k\.a\.?\s+)(?P<rest>.+)$", re.IGNORECASE)


def _article_first(text: str) -> str:
    """"Matrix, The" -> "The Matrix"; "Âge d'or, L'" -> "L'Âge d'or"; anything else unchanged."""
    stripped = text.strip()
    aka = _AKA.match(stripped)
    if aka:
        return aka["aka"] + _article_first(aka["rest"])
    match = _ARTICLE_AT_END.match(stripped)
    if not match:
        return stripped
    body, article = match["body"].strip(), match["article"]
    return f"{article}{body}" if article.endswith("'") else f"{article} {body}"


def _trailing_groups(text: str) -> tuple[str, list[str]]:
    """The title proper and its trailing parenthesised groups, innermost text of each:
    "Amélie (Fabuleux destin d'Amélie Poulain, Le)" -> ("Amélie", ["Fabuleux destin d'Amélie Poulain, Le"])."""
    groups: list[str] = []
    rest = text.rstrip()
    while rest.endswith(")"):
        depth, start = 0, None
        for position in range(len(rest) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(rest[position], 0)
            if depth == 0:
                start = position
                break
        # Unbalanced, the whole text one group ("(Untitled)") or part of a word ("Frontière(s)"):
        # the rest is the title itself.
        if not start or not rest[start - 1].isspace():
            break
        groups.insert(0, rest[start + 1:-1])
        rest = rest[:start].rstrip()
    return rest, groups


def natural_title(title: str) -> str:
    """The title as people write it: the article MovieLens moved to the end put back in front,
    in the title and in each trailing alternative title.

    "Matrix, The" -> "The Matrix"; "City of Lost Children, The (Cité des enfants perdus, La)" ->
    "The City of Lost Children (La Cité des enfants perdus)"; "Christmas Story, A (a.k.a. X, The)"
    -> "A Christmas Story (a.k.a. The X)". A year still attached is kept: "Heat, The (1995)" ->
    "The Heat (1995)".
    """
    text = (title or "").strip()
    body, year = split_title_year(text)
    suffix = f" ({year})" if year is not None else ""
    main, groups = _trailing_groups(body)
    parts = [_article_first(main), *(f"({_article_first(group)})" for group in groups)]
    return " ".join(part for part in parts if part) + suffix


def title_variants(title: str) -> list[str]:
    """Every name a movie goes by, natural order of articles: the whole title, the title proper
    without its parenthesised alternatives, and each alternative ("a.k.a." dropped), in that
    order and without repeats. "Amélie (Fabuleux destin d'Amélie Poulain, Le)" ->
    ["Amélie (Le Fabuleux destin d'Amélie Poulain)", "Amélie", "Le Fabuleux destin d'Amélie Poulain"]."""
    body = split_title_year((title or "").strip())[0]
    main, groups = _trailing_groups(body)
    names = [natural_title(body), _article_first(main)]
    for group in groups:
        aka = _AKA.match(group.strip())
        names.append(_article_first(aka["rest"] if aka else group))
    return list(dict.fromkeys(name for name in names if name))


_SERIES_BREAK = re.compile(r"\s*(?::|\s-\s|\u2013|\u2014|\band the\b)\s*")
_SEQUEL_NUMBER = re.compile(r"(?:\s+(?:part|chapter|episode|vol|volume)?\s*(?:\d+|[ivx]+))+$")
_KEY_ARTICLE = re.compile(r"^(?:the|a|an)\s+")  # "Die Hard" is no German article


def franchise_key(title: str) -> str:
    """A key shared by the films of one series: "Toy Story 2", "Star Wars: Episode V - The Empire
    Strikes Back" and "Lord of the Rings: The Two Towers, The" give "toy story", "star wars" and
    "lord of the rings" (the title proper up to a colon, dash or "and the", article, sequel
    number and punctuation dropped, lower case, accents off). Different series can share a key
    ("Beauty and the Beast", "Beauty Shop" do not; "Harry Potter and the ..." all do)."""
    import unicodedata

    main = _trailing_groups(split_title_year((title or "").strip())[0])[0]
    text = unicodedata.normalize("NFKD", natural_title(main)).encode("ascii", "ignore").decode("ascii").lower()
    head = _SERIES_BREAK.split(text, maxsplit=1)[0] or text
    head = re.sub(r"[^\w\s]", " ", head)
    head = _KEY_ARTICLE.sub("", re.sub(r"\s+", " ", head).strip())
    return _SEQUEL_NUMBER.sub("", head).strip() or head

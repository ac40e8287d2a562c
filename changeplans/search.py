"""Search of the plan list (docs/search.md).

PostgreSQL: full-text search over each plan's stored document (PlanSearchDocument, kept by triggers:
title and Jira key weight A, goal B, step names C; the "russian" configuration stems Russian words with the
Russian Snowball stemmer and Latin words with the English one), ranked with ts_rank so a title match comes
before a step match; every word typed is also a prefix ("миграц" finds «миграция»). Trigram matching
(pg_trgm) finds Jira keys and fragments of them («INFRA-22», «infra-2») in the plan's Jira link through a
GIN trigram index, and people by a name typed approximately («Кочетв»): the plan's author, curator or
responsible party. No query joins the steps.

SQLite (the embedded default): case-insensitive `icontains` over the same fields (SQLite folds case for
Latin letters only), title matches first; the steps are read through EXISTS, never joined.
"""

import re

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connections
from django.db.models import Case, Exists, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Concat

from .models import Party, Plan, PlanSearchDocument, Step

WORD = re.compile(r"\w+")
MAX_WORDS = 8  # words of a query used; the rest are ignored
MAX_LENGTH = 200  # characters of a query used
PEOPLE_SIMILARITY = 0.5  # word similarity of a typed name to a person's (pg_trgm word_similarity)
MIN_TRIGRAM_LENGTH = 3  # shorter text cannot use a trigram index
JIRA_KEY = re.compile(r"[A-Za-z0-9_-]+$")  # what could be (a part of) a Jira key: "INFRA-22", "infra-2", "22"


def clean(text: str) -> str:
    return " ".join((text or "").split())[:MAX_LENGTH]


def uses_full_text(using: str = "default") -> bool:
    """Whether the database searches with PostgreSQL's full-text search (else: the icontains fallback)."""
    return connections[using].vendor == "postgresql"


def tsquery(text: str) -> str:
    """A raw tsquery from what was typed: its words, each as a prefix, all required ("a:* & b:*").

    Only word characters reach PostgreSQL, so nothing typed can break the query's syntax."""
    words = WORD.findall(text)[:MAX_WORDS]
    return " & ".join(f"{word}:*" for word in words)


def search_plans(queryset: QuerySet[Plan], text: str) -> QuerySet[Plan]:
    """`queryset` narrowed to the plans matching `text`, best first; unchanged for empty text."""
    text = clean(text)
    if not text:
        return queryset
    if uses_full_text(queryset.db):
        return _full_text(queryset, text)
    return _fallback(queryset, text)


def _people(text: str) -> Q | None:
    """Plans whose author, curator or responsible party has a name like `text` (pg_trgm word similarity).

    The people are read first (small tables, two queries), so the plans are then found through the indexes
    of their author, curator and responsible columns; None when nobody is like `text`."""
    user_model = get_user_model()
    full_name = Concat("last_name", Value(" "), "first_name", Value(" "), "username")
    users = list(
        user_model.objects.annotate(similarity=TrigramWordSimilarity(text, full_name))
        .filter(similarity__gte=PEOPLE_SIMILARITY)
        .values_list("pk", flat=True)
    )
    parties = list(
        Party.objects.annotate(similarity=TrigramWordSimilarity(text, "name"))
        .filter(similarity__gte=PEOPLE_SIMILARITY)
        .values_list("pk", flat=True)
    )
    if not users and not parties:
        return None
    return Q(author__in=users) | Q(curator__in=users) | Q(responsible__in=parties)


def _full_text(queryset: QuerySet[Plan], text: str) -> QuerySet[Plan]:
    raw = tsquery(text)
    query = SearchQuery(raw, config="russian", search_type="raw") if raw else None
    # The ids of the plans found, each way through its own index, united: no OR across tables, no step joined.
    found: list[QuerySet] = []
    if query is not None:
        found.append(PlanSearchDocument.objects.filter(document=query).order_by().values("plan_id"))
    jira = Q(jira_url__icontains=text)  # the trigram index plan_jira_url_trgm serves this ILIKE
    looks_like_key = JIRA_KEY.match(text) is not None
    if len(text) >= MIN_TRIGRAM_LENGTH:
        if looks_like_key:
            found.append(Plan.objects.filter(jira).order_by().values("pk"))
        people = _people(text)
        if people is not None:
            found.append(Plan.objects.filter(people).order_by().values("pk"))
    if not found:
        return queryset.none()
    ids = found[0].union(*found[1:]) if len(found) > 1 else found[0]
    # The OR with a condition no plan meets keeps the found ids a hashed set that PostgreSQL checks while it
    # walks the list's date index, stopping at the page; as a join it would look up and sort every plan found.
    hashed = queryset.filter(Q(pk__in=ids) | Q(pk__lt=0))
    if query is None or _found_count(hashed) > settings.OKNO_SEARCH_RANK_LIMIT:
        # Words in very many plans: newest first (ranking each of them would cost more than the page).
        return hashed.order_by("-window_start", "-id")
    plans = queryset.filter(pk__in=ids)
    # A Jira key typed is the plan asked for: before any word match.
    key_bonus = Case(When(jira, then=Value(2.0)), default=Value(0.0)) if looks_like_key else Value(0.0)
    rank = Coalesce(SearchRank(F("search_document__document"), query), 0.0) + key_bonus
    return plans.annotate(search_rank=ExpressionWrapper(rank, output_field=FloatField())).order_by(
        "-search_rank", "-window_start", "-id"
    )


def _found_count(plans: QuerySet[Plan]) -> int:
    """How many plans were found, counted up to OKNO_SEARCH_RANK_LIMIT + 1."""
    return plans.order_by().values("pk")[: settings.OKNO_SEARCH_RANK_LIMIT + 1].count()


def _fallback(queryset: QuerySet[Plan], text: str) -> QuerySet[Plan]:
    user_model = get_user_model()
    people = user_model.objects.filter(
        Q(last_name__icontains=text) | Q(first_name__icontains=text) | Q(username__icontains=text)
    ).values("pk")
    parties = Party.objects.filter(name__icontains=text).values("pk")
    in_title = Q(title__icontains=text) | Q(jira_url__icontains=text)
    matches = (
        in_title
        | Q(goal__icontains=text)
        | Exists(Step.objects.filter(plan=OuterRef("pk")).filter(Q(name__icontains=text) | Q(jira_key__icontains=text)))
        | Q(author__in=people)
        | Q(curator__in=people)
        | Q(responsible__in=parties)
    )
    rank = Case(When(in_title, then=Value(1.0)), default=Value(0.0), output_field=FloatField())
    return queryset.filter(matches).annotate(search_rank=rank).order_by("-search_rank", "-window_start", "-id")

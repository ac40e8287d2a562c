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

import functools
import operator
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.postgres.search import SearchQuery, SearchRank, TrigramWordSimilarity
from django.db import connections
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat

from .models import Party, Plan, PlanSearchDocument, Step

WORD = re.compile(r"\w+")
MAX_WORDS = 8  # words of a query used; the rest are ignored
MAX_LENGTH = 200  # characters of a query used
PEOPLE_SIMILARITY = 0.5  # word similarity of a typed name to a person's (pg_trgm word_similarity)
MIN_TRIGRAM_LENGTH = 3  # shorter text cannot use a trigram index
COMMON_SAMPLE, COMMON_SHARE = 200, 0.25  # a search's words are "common" in a quarter of the newest 200 plans
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


@dataclass
class Found:
    """A search's plans in their order, and how many were found, counted up to OKNO_SEARCH_RANK_LIMIT + 1: the
    plan list's pages take this count (common/pagination.py), so a search runs one count, not two."""

    plans: QuerySet[Plan]
    count: int


def search_plans(queryset: QuerySet[Plan], text: str) -> QuerySet[Plan]:
    """`queryset` narrowed to the plans matching `text`, best first; unchanged for empty text."""
    found = find_plans(queryset, text)
    return queryset if found is None else found.plans


def find_plans(queryset: QuerySet[Plan], text: str) -> Found | None:
    """The plans of `queryset` matching `text` and their count; None for empty text."""
    text = clean(text)
    if not text:
        return None
    if uses_full_text(queryset.db):
        return _full_text(queryset, text)
    return _fallback(queryset, text)


def _people(text: str) -> Q | None:
    """Plans whose author, curator or responsible party has a name like `text` (pg_trgm word similarity).

    The people are read first (small tables, one query for both), so the plans are then found through the
    indexes of their author, curator and responsible columns; None when nobody is like `text`."""
    user_model = get_user_model()
    full_name = Concat("last_name", Value(" "), "first_name", Value(" "), "username")
    users_like = (
        user_model.objects.annotate(similarity=TrigramWordSimilarity(text, full_name))
        .filter(similarity__gte=PEOPLE_SIMILARITY)
        .values_list(Value("user"), "pk")
    )
    parties_like = (
        Party.objects.annotate(similarity=TrigramWordSimilarity(text, "name"))
        .filter(similarity__gte=PEOPLE_SIMILARITY)
        .order_by()
        .values_list(Value("party"), "pk")
    )
    found = list(users_like.union(parties_like, all=True))
    users = [pk for kind, pk in found if kind == "user"]
    parties = [pk for kind, pk in found if kind == "party"]
    if not users and not parties:
        return None
    return Q(author__in=users) | Q(curator__in=users) | Q(responsible__in=parties)


def _full_text(queryset: QuerySet[Plan], text: str) -> Found:
    raw = tsquery(text)
    query = SearchQuery(raw, config="russian", search_type="raw") if raw else None
    documents = PlanSearchDocument.objects.filter(document=query) if query is not None else None
    # Conditions on the plan row itself: a Jira key through the trigram index plan_jira_url_trgm (an ILIKE),
    # people through the author, curator and responsible indexes.
    jira = Q(jira_url__icontains=text)
    looks_like_key = JIRA_KEY.match(text) is not None
    others: list[Q] = []
    if len(text) >= MIN_TRIGRAM_LENGTH:
        if looks_like_key:
            others.append(jira)
        people = _people(text)
        if people is not None:
            others.append(people)
    if documents is None and not others:
        return Found(queryset.none(), 0)
    if query is not None and _common(queryset, query):
        # Words in many of the plans: each plan's own document is read (by its key) as the list's date index is
        # walked, stopping at the page, or at the count's cap. Reading every matching document first (the set
        # below) would cost 25 ms for a word in 48,000 plans, before each query.
        matches = functools.reduce(operator.or_, others, Q(_in_document(query)))
        plans = queryset.filter(matches)
        count = _found_count(plans)
        if count > settings.OKNO_SEARCH_RANK_LIMIT:
            return Found(plans.order_by("-window_start", "-id"), count)
        return Found(_ranked(plans, query, jira if looks_like_key else None), count)
    # Few documents: the ids of the plans found, each way through its own index (the documents' GIN index),
    # united: no OR across tables, no step joined.
    found: list[QuerySet] = [documents.order_by().values("plan_id")] if documents is not None else []
    found += [Plan.objects.filter(other).order_by().values("pk") for other in others]
    ids = found[0].union(*found[1:]) if len(found) > 1 else found[0]
    plans = queryset.filter(pk__in=ids)
    count = _found_count(plans)
    if query is None or count > settings.OKNO_SEARCH_RANK_LIMIT:
        # Many plans by a name or a key: the OR with a condition no plan meets keeps the found ids a hashed set
        # that PostgreSQL checks while it walks the list's date index, stopping at the page; as a join it would
        # look up and sort every plan found.
        return Found(queryset.filter(Q(pk__in=ids) | Q(pk__lt=0)).order_by("-window_start", "-id"), count)
    return Found(_ranked(plans, query, jira if looks_like_key else None), count)


def _ranked(plans: QuerySet[Plan], query: SearchQuery, jira: Q | None) -> QuerySet[Plan]:
    """Best first: ts_rank of the plan's document; a Jira key typed is the plan asked for, before any word match."""
    key_bonus = Case(When(jira, then=Value(2.0)), default=Value(0.0)) if jira is not None else Value(0.0)
    rank = Coalesce(SearchRank(F("search_document__document"), query), 0.0) + key_bonus
    return plans.annotate(search_rank=ExpressionWrapper(rank, output_field=FloatField())).order_by(
        "-search_rank", "-window_start", "-id"
    )


def _common(queryset: QuerySet[Plan], query: SearchQuery) -> bool:
    """Whether the words are in at least COMMON_SHARE of the newest COMMON_SAMPLE plans of the list (one query).

    Then reading each plan's own document as the list is walked finds the page's rows within a few hundred plans
    and the count's OKNO_SEARCH_RANK_LIMIT + 1 within a few thousand; rarer words (a word in 4,000 of 50,000
    plans: walking for them took 30 ms) are found through the GIN index instead."""
    newest = queryset.order_by("-window_start", "-id").values("pk")[:COMMON_SAMPLE]
    sample = PlanSearchDocument.objects.filter(plan__in=newest).aggregate(
        total=Count("pk"), found=Count("pk", filter=Q(document=query))
    )
    return sample["total"] > 0 and sample["found"] >= COMMON_SHARE * sample["total"]


def _in_document(query: SearchQuery) -> Subquery:
    """Whether the plan's own document matches, read by the plan's key: a value per plan, which PostgreSQL
    evaluates row by row (an EXISTS in an OR it would turn into a hashed set of every matching document)."""
    match = ExpressionWrapper(Q(document=query), output_field=BooleanField())
    document = PlanSearchDocument.objects.filter(plan=OuterRef("pk")).annotate(match=match).values("match")[:1]
    return Subquery(document, output_field=BooleanField())


def _found_count(plans: QuerySet[Plan]) -> int:
    """How many plans were found, counted up to OKNO_SEARCH_RANK_LIMIT + 1."""
    return plans.order_by().values("pk")[: settings.OKNO_SEARCH_RANK_LIMIT + 1].count()


def _fallback(queryset: QuerySet[Plan], text: str) -> Found:
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
    plans = queryset.filter(matches)
    return Found(plans.annotate(search_rank=rank).order_by("-search_rank", "-window_start", "-id"), _found_count(plans))

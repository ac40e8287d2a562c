"""Pagination of the lists that grow (plans, the inbox, runbooks, history, mailbox, deliveries).

One rule for every list: a page of `per_page` items, never a silent cap. Two queries a page: the rows
(one more than the page, so "next" is known without a count) and a count that stops at `count_cap`
(`SELECT COUNT(*) FROM (… LIMIT cap + 1)`): past the cap the page says "more than 10 000" and still
links to the next page, so every row stays reachable. templates/inc/pagination.html shows it.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, QueryDict

PAGE_PARAM = "page"


@dataclass
class Page:
    """One page of a list: its items and what the pagination bar needs."""

    items: list[Any]
    number: int
    per_page: int
    count: int  # exact total, or the cap when `capped`
    capped: bool
    has_next: bool
    param: str = PAGE_PARAM
    anchor: str = ""  # "#history": where a link lands on the page
    query: QueryDict = field(default_factory=QueryDict)  # the other parameters (filters), kept in every link

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.items else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.items)

    @property
    def num_pages(self) -> int | None:
        """The last page's number; None when the count stopped at the cap."""
        if self.capped:
            return None
        return max(1, -(-self.count // self.per_page))

    def url(self, number: int) -> str:
        """The link to page `number` with the list's other parameters (filters) kept."""
        query = self.query.copy()
        if number > 1:
            query[self.param] = str(number)
        else:
            query.pop(self.param, None)
        text = query.urlencode()
        return f"?{text}{self.anchor}" if text else f"?{self.anchor}" if self.anchor else "?"

    @property
    def first_url(self) -> str:
        return self.url(1)

    @property
    def previous_url(self) -> str:
        return self.url(self.number - 1)

    @property
    def next_url(self) -> str:
        return self.url(self.number + 1)

    @property
    def links(self) -> list[dict[str, Any]]:
        """The numbered links of the bar: {"number", "url", "current"}, or {"gap": True} for an ellipsis."""
        return [
            {"gap": True} if n is None else {"number": n, "url": self.url(n), "current": n == self.number}
            for n in self.page_range()
        ]

    def page_range(self, on_each_side: int = 2, on_ends: int = 1) -> list[int | None]:
        """Page numbers to link, None for an ellipsis: 1 … 4 5 [6] 7 8 … 20 (no last page past the cap)."""
        last = self.num_pages or self.number + (1 if self.has_next else 0)
        numbers: list[int | None] = []
        for n in range(1, last + 1):
            near = abs(n - self.number) <= on_each_side
            at_end = n <= on_ends or (self.num_pages is not None and n > last - on_ends)
            if near or at_end:
                numbers.append(n)
            elif numbers and numbers[-1] is not None:
                numbers.append(None)
        return numbers


def page_number(request: HttpRequest, param: str = PAGE_PARAM) -> int:
    """The page asked for; anything that is not a positive number is page 1."""
    raw = request.GET.get(param, "")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 10**9 else 1


def paginate(
    request: HttpRequest,
    rows: QuerySet[Any] | Sequence[Any],
    *,
    per_page: int | None = None,
    count_cap: int | None = None,
    param: str = PAGE_PARAM,
    anchor: str = "",
    number: int | None = None,
    query: QueryDict | None = None,
    count: int | None = None,
) -> Page:
    """The page of `rows` the request asks for (`?page=N`); a page past the end shows the last one.

    `query`: the parameters the links keep (default: the request's own, the filters of a list).
    `count`: how many rows there are, counted by the caller up to `count_cap` + 1 (a search counts its plans
    anyway): the page then runs no count of its own.
    """
    per_page = per_page or settings.OKNO_PAGE_SIZE
    cap = count_cap or settings.OKNO_LIST_COUNT_CAP
    number = number or page_number(request, param)
    if count is None and isinstance(rows, QuerySet):
        # The count needs no ordering and no annotation (a search's rank): only the ids, at most cap + 1.
        count = rows.order_by().values("pk")[: cap + 1].count()
    elif count is None:
        count = len(rows)
    capped = count > cap
    count = min(count, cap)
    if not capped:
        last = max(1, -(-count // per_page))
        number = min(number, last)
    offset = (number - 1) * per_page
    chunk = list(rows[offset : offset + per_page + 1])
    return Page(
        items=chunk[:per_page],
        number=number,
        per_page=per_page,
        count=count,
        capped=capped,
        has_next=len(chunk) > per_page,
        param=param,
        anchor=anchor,
        query=query if query is not None else request.GET,
    )

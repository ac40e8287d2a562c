"""The plan page as a browser shows it once loaded: the calendar's placeholders (changecalendar.extension_plan_checks)
replaced by what they fetch, so a test reads the conflicts, freezes and maintenance windows where users see them."""

import html
import re

from django.urls import reverse

PLACEHOLDER = re.compile(r'<div id="calendar-(?:checks|side)"[^>]*?hx-get="([^"]+)"[^>]*>.*?</div>', re.S)


def plan_page(client, pk: int) -> str:
    page = client.get(reverse("changeplans:plan_detail", args=[pk]))
    assert page.status_code == 200, page.status_code

    def fetched(match: re.Match) -> str:
        response = client.get(html.unescape(match.group(1)), headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code
        return response.content.decode()

    return PLACEHOLDER.sub(fetched, page.content.decode())

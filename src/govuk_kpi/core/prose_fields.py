"""Where a content item's prose is: the one list of the fields whose words the text figures count.

`words`, `chars`, `sentences` and `readability` are counted over these fields of a content
item's `details`, in this order, and over nothing else: lists of links, navigation and
metadata are not prose. The list lives beside the metrics glossary so that `docs/metrics.md`
shows it; the content reader walks it.

A path is read from `details`: `a.b` is key `b` of the object at `a`, and `a[]` each entry of
the list at `a`. What is found there is read as its kind says:

- `html`: HTML or plain text, or a list of `{content_type, content}` variants (text/html is
  taken, else text/govspeak, else text/plain, else the first; the variants say one thing).
- `text`: plain text, such as a title or a list item: its own block, never markup.
- `blocks`: landing-page blocks, which nest blocks in blocks (`govspeak` content is HTML,
  `heading` content and `quote` text are text).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProseField:
    """One place in `details` that holds prose."""

    path: str
    kind: str  # "html", "text" or "blocks"
    schemas: tuple[str, ...]  # the schemas GOV.UK publishes it in (read from every item)


def _fields(kind: str, schemas: tuple[str, ...], *paths: str) -> tuple[ProseField, ...]:
    return tuple(ProseField(path, kind, schemas) for path in paths)


PROSE_FIELDS: tuple[ProseField, ...] = (
    *_fields("html", ("local_transaction", "place"), "introduction"),
    *_fields("html", ("transaction",), "introductory_paragraph"),
    *_fields("html", ("history",), "lead_paragraph"),
    *_fields("html", ("fatality_notice",), "roll_call_introduction"),
    *_fields("html", ("email_alert_signup", "travel_advice"), "summary"),
    *_fields("html", ("licence",), "licence_short_description", "licence_overview"),
    *_fields("html", ("answer", "publication", "news_article", "and most others"), "body"),
    *_fields("html", ("local_transaction",), "need_to_know"),
    *_fields("html", ("transaction",), "what_you_need_to_know"),
    *_fields("html", ("transaction", "local_transaction", "place"), "more_information"),
    *_fields("html", ("worldwide_office",), "access_and_opening_times"),
    *_fields("html", ("call_for_evidence",), "outcome_detail"),
    *_fields("html", ("consultation",), "final_outcome_detail", "public_feedback_detail"),
    *_fields(
        "html",
        ("contact",),
        "more_info_contact_form",
        "more_info_email_address",
        "more_info_phone_number",
        "more_info_post_address",
    ),
    *_fields("text", ("guide", "travel_advice"), "parts[].title"),
    *_fields("html", ("guide", "travel_advice"), "parts[].body"),
    *_fields("text", ("simple_smart_answer",), "nodes[].title"),
    *_fields("html", ("simple_smart_answer",), "nodes[].body"),
    *_fields("text", ("document_collection",), "collection_groups[].title"),
    *_fields("html", ("document_collection",), "collection_groups[].body"),
    *_fields(
        "html",
        ("contact",),
        "contact_form_links[].description",
        "email_addresses[].description",
        "phone_numbers[].description",
        "phone_numbers[].open_hours",
        "phone_numbers[].best_time_to_call",
        "post_addresses[].description",
    ),
    *_fields("html", ("step_by_step_nav",), "step_by_step_nav.introduction"),
    *_fields(
        "text",
        ("step_by_step_nav",),
        "step_by_step_nav.steps[].title",
        "step_by_step_nav.steps[].contents[].text",
        "step_by_step_nav.steps[].contents[].contents[].text",
    ),
    *_fields("blocks", ("landing_page", "plan_for_change_landing_page"), "blocks"),
    *_fields("text", ("service_sign_in",), "choose_sign_in.title"),
    *_fields("html", ("service_sign_in",), "choose_sign_in.description"),
    *_fields(
        "text",
        ("service_sign_in",),
        "choose_sign_in.options[].text",
        "choose_sign_in.options[].hint_text",
        "create_new_account.title",
    ),
    *_fields("html", ("service_sign_in",), "create_new_account.body"),
    *_fields("html", ("ministers_index",), "reshuffle.message"),
    *_fields("html", ("gone",), "explanation"),
    *_fields(
        "text",
        ("coronavirus_landing_page",),
        "stay_at_home.pretext",
        "stay_at_home.list[]",
        "guidance.pretext",
        "sections[].title",
    ),
)


def render_markdown() -> str:
    """The list as a Markdown section of `docs/metrics.md`."""
    lines = [
        "## Where the text figures count words",
        "",
        "`words`, `chars`, `sentences` and `readability` count the prose of these fields of a",
        "content item's `details`, whatever its schema, and nothing else (links, navigation and",
        "metadata are not prose). `a[]` is each entry of the list `a`. Kinds: `html` is HTML or",
        "plain text (of content-type variants, text/html is taken); `text` is plain text such as",
        "a title; `blocks` are landing-page blocks, nested. Rendered from",
        "`src/govuk_kpi/core/prose_fields.py`.",
        "",
        "| field of `details` | kind | schemas |",
        "|---|---|---|",
    ]
    for field in PROSE_FIELDS:
        schemas = ", ".join(f"`{s}`" if s.isidentifier() else s for s in field.schemas)
        lines.append(f"| `{field.path}` | {field.kind} | {schemas} |")
    return "\n".join(lines) + "\n"

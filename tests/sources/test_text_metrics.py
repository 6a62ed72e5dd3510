"""Text figures of body HTML: words, chars, sentences, Flesch reading ease, PDFs and documents."""

from __future__ import annotations

import pytest

from govuk_kpi.sources.text_metrics import (
    count_syllables,
    file_kind,
    text_metrics,
    visible_segments,
)

# Worked by hand: segments "Apply now" | "The cat sat on the mat. Dogs run!" | "Make a table".
# words 2 + 6 + 2 + 3 = 13; sentences 4 (heading, two in the paragraph, list item);
# chars len("Apply now The cat sat on the mat. Dogs run! Make a table") = 56;
# syllables ap-ply 2, table 2, the other 11 words 1 each = 15;
# Flesch 206.835 − 1.015 × 13/4 − 84.6 × 15/13 = 105.9209 → 105.92.
SNIPPET = (
    "<h2>Apply now</h2>"
    "<p>The cat sat on the mat. Dogs run!</p>"
    "<script>var hidden = 'not counted. at all!';</script>"
    "<style>p { color: red; }</style>"
    "<ul><li>Make a table</li></ul>"
)


def test_hand_worked_snippet_gives_exact_figures() -> None:
    metrics = text_metrics([SNIPPET])
    assert metrics.words == 13
    assert metrics.sentences == 4
    assert metrics.chars == 56
    assert metrics.readability == pytest.approx(105.92)
    assert metrics.pdf_count == 0
    assert metrics.doc_count == 0
    assert metrics.reading_time == 1


def test_script_and_style_are_not_counted() -> None:
    without = SNIPPET.replace("<script>var hidden = 'not counted. at all!';</script>", "")
    assert text_metrics([SNIPPET]) == text_metrics([without])
    assert "hidden" not in " ".join(visible_segments(SNIPPET))


def test_inline_elements_join_and_blocks_separate_words() -> None:
    assert visible_segments("<p>Hel<b>lo</b> world</p><p>again</p>x<br>y") == [
        "Hello world",
        "again",
        "x y",
    ]
    # Two paragraphs never merge into one word, even with no whitespace between them.
    assert text_metrics(["<p>one</p><p>two</p>"]).words == 2


def test_tokens_without_letters_or_digits_are_not_words() -> None:
    metrics = text_metrics(["<p>Pay £5 – now * 2024 ...</p>"])
    assert metrics.words == 4  # £5, now, 2024 and Pay; "–", "*" and "..." are not words


def test_no_words_means_no_readability() -> None:
    metrics = text_metrics(["<p> </p>", "", "<script>x = 1</script>"])
    assert (metrics.words, metrics.sentences, metrics.chars, metrics.readability) == (0, 0, 0, None)


def test_text_with_words_has_at_least_one_sentence() -> None:
    metrics = text_metrics(["no full stop here"])
    assert (metrics.words, metrics.sentences) == (4, 1)


def test_sentence_ends_need_a_space_or_the_end() -> None:
    # "gov.uk" and "3.5" do not end sentences; the final "?" does.
    assert text_metrics(["<p>Visit gov.uk for 3.5 hours? Yes.</p>"]).sentences == 2


@pytest.mark.parametrize(
    ("word", "syllables"),
    [
        ("the", 1),
        ("make", 1),
        ("table", 2),
        ("jumped", 1),
        ("wanted", 2),
        ("boxes", 2),
        ("year", 1),
        ("beautiful", 3),
        ("government", 3),
        ("readability", 5),
        ("2024", 1),
        ("ویب", 1),
    ],
)
def test_syllable_counter(word: str, syllables: int) -> None:
    assert count_syllables(word) == syllables


def test_attachments_and_links_count_each_file_once() -> None:
    attachments = [
        {
            "attachment_type": "file",
            "content_type": "application/pdf",
            "url": "https://assets.publishing.service.gov.uk/media/1/report.pdf",
        },
        {
            "attachment_type": "file",
            "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "url": "https://assets.publishing.service.gov.uk/media/2/data.xlsx",
        },
        {"attachment_type": "html", "url": "https://www.gov.uk/government/publications/x/y"},
        {"attachment_type": "file", "content_type": "image/jpeg", "url": "/media/3/photo.pdf"},
        {"attachment_type": "file", "filename": "tables.ods"},
    ]
    body = (
        '<p><a href="https://www.gov.uk/media/1/report.pdf#page=2">the report</a> '  # same file
        '<a href="/media/4/annex.PDF">annex</a> '  # another PDF
        '<a href="/media/5/minutes.doc?x=1">minutes</a> '
        '<a href="/media/6/archive.zip">archive</a> '  # not a document
        '<a href="mailto:a@b.pdf">mail</a></p>'
    )
    documents = ['<section class="attachment"><a href="/media/7/figures.csv">csv</a></section>']
    metrics = text_metrics([body], attachments=attachments, document_html=documents)
    assert metrics.pdf_count == 2  # report.pdf, annex.PDF
    assert metrics.doc_count == 4  # data.xlsx, tables.ods, minutes.doc, figures.csv
    # "the report annex minutes archive mail": the document list "csv" is not prose.
    assert metrics.words == 6


@pytest.mark.parametrize(
    ("kwargs", "kind"),
    [
        ({"content_type": "application/pdf"}, "pdf"),
        ({"content_type": "application/msword"}, "doc"),
        ({"content_type": "application/vnd.oasis.opendocument.text"}, "doc"),
        ({"content_type": "text/csv"}, "doc"),
        ({"content_type": "text/html", "url": "/a.pdf"}, None),
        ({"content_type": "application/octet-stream", "url": "/a.pptx"}, "doc"),
        ({"url": "/files/a.RTF"}, "doc"),
        ({"url": "/files/a.txt"}, "doc"),
        ({"url": "/files/a.png"}, None),
        ({}, None),
    ],
)
def test_file_kind(kwargs: dict[str, str], kind: str | None) -> None:
    assert file_kind(**kwargs) == kind

"""Text figures of an edition's body: words, chars, sentences, readability, PDFs and documents.

The figures are computed from what a reader sees: the visible text of the body HTML (scripts and
styles skipped, block elements separating words and ending sentences) and the files the page
offers (its attachments and the document links in its HTML).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import lxml.etree
import lxml.html

from govuk_kpi.sources.records import TextMetrics

# Elements whose text is never shown to a reader.
_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "head", "title", "svg"})

# Elements that start a new block: their text never runs on into the neighbouring text, and the
# end of one ends a sentence (a heading or a list item has no full stop but is read as one).
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "caption", "dd", "details", "div", "dl",
        "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
        "h6", "header", "hr", "legend", "li", "main", "nav", "ol", "p", "pre", "section",
        "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip

# A line break separates words but does not end a sentence.
_BREAK_TAGS = frozenset({"br", "img", "input", "wbr"})

_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)")
_WHITESPACE = re.compile(r"\s+")

PDF_EXTENSIONS = frozenset({"pdf"})
DOCUMENT_EXTENSIONS = frozenset(
    {
        "csv", "doc", "docm", "docx", "dot", "dotx", "odg", "odp", "ods", "odt", "pps", "ppsx",
        "ppt", "pptx", "rtf", "tsv", "txt", "xls", "xlsb", "xlsm", "xlsx", "xlt", "xltx",
    }
)  # fmt: skip

_PDF_CONTENT_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_DOCUMENT_CONTENT_TYPES = frozenset(
    {
        "application/msword",
        "application/rtf",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "text/csv",
        "text/plain",
        "text/rtf",
        "text/tab-separated-values",
    }
)
_DOCUMENT_CONTENT_TYPE_PREFIXES = (
    "application/vnd.openxmlformats-officedocument.",
    "application/vnd.oasis.opendocument.",
    "application/vnd.ms-excel.",
    "application/vnd.ms-word.",
    "application/vnd.ms-powerpoint.",
)

# Hosts that serve the same uploaded file under the same path, so a body link to
# www.gov.uk/government/uploads/... and an attachment on assets.publishing.service.gov.uk
# are one file, not two.
_GOVUK_HOSTS = ("gov.uk", "alphagov.co.uk")


def visible_segments(html: str) -> list[str]:
    """Split an HTML fragment into the runs of visible text between block boundaries.

    Each returned segment is the whitespace-collapsed text of one run; a segment never spans two
    block elements, so the end of a segment ends a sentence.

    Args:
        html: An HTML fragment (a plain-text string is a valid fragment too).

    Returns:
        The non-empty segments, in document order.
    """
    if not html or not html.strip():
        return []
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        # A fragment lxml cannot parse at all is shown as its raw text.
        return _collapse([html])

    runs = _Runs()
    runs.walk(root)
    runs.end_block()
    return _collapse(runs.segments)


class _Runs:
    """The runs of text of a tree, walked in document order, cut at block boundaries."""

    def __init__(self) -> None:
        self.segments: list[str] = []
        self.current: list[str] = []

    def end_block(self) -> None:
        if self.current:
            self.segments.append("".join(self.current))
            self.current.clear()

    def walk(self, element: lxml.html.HtmlElement) -> None:
        tag = element.tag if isinstance(element.tag, str) else None
        if tag is None or tag.lower() in _SKIPPED_TAGS:
            # Comments, processing instructions and scripts: only their tail is visible.
            return
        tag = tag.lower()
        if tag in _BLOCK_TAGS:
            self.end_block()
        elif tag in _BREAK_TAGS:
            self.current.append(" ")
        if element.text:
            self.current.append(element.text)
        for child in element:
            self.walk(child)
            if child.tail:
                self.current.append(child.tail)
        if tag in _BLOCK_TAGS:
            self.end_block()


def _collapse(texts: Iterable[str]) -> list[str]:
    collapsed = (_WHITESPACE.sub(" ", text).strip() for text in texts)
    return [text for text in collapsed if text]


def is_word(token: str) -> bool:
    """A token is a word when it holds at least one letter or digit (so "–" or "*" are not)."""
    return any(ch.isalnum() for ch in token)


def count_syllables(word: str) -> int:
    """Estimate the syllables of an English word: vowel groups, less silent endings, at least 1.

    Non-Latin words and numbers count as one syllable: the Flesch formula is for English, and
    counting them as 1 keeps the score defined for every page.
    """
    w = re.sub(r"[^a-z]", "", word.lower())
    if len(w) <= 3:
        return 1
    if w.endswith("ed") and w[-3] not in "td":
        w = w[:-2]  # "jumped", "played": the -ed is not voiced
    elif w.endswith("es") and w[-3] not in "aeiouysxzcgh":
        w = w[:-2]  # "makes", "lives"; but "boxes", "uses", "changes" keep it
    elif w.endswith("e") and not (w.endswith("le") and w[-3] not in "aeiouy"):
        w = w[:-1]  # silent final e ("make"), except a consonant + "le" ("table")
    w = w.removeprefix("y")  # a leading y is a consonant ("year", "you")
    return max(1, len(re.findall(r"[aeiouy]+", w)))


def flesch_reading_ease(words: int, sentences: int, syllables: int) -> float | None:
    """Flesch reading ease, rounded to 2 decimals; None when there are no words.

    206.835 − 1.015 × (words / sentences) − 84.6 × (syllables / words).
    """
    if words <= 0:
        return None
    sentences = max(1, sentences)
    score = 206.835 - 1.015 * (words / sentences) - 84.6 * (syllables / words)
    return round(score, 2)


def _file_kind_from_extension(url_or_name: str) -> str | None:
    path = urlsplit(url_or_name).path if "/" in url_or_name else url_or_name
    name = unquote(path).rsplit("/", 1)[-1]
    if "." not in name:
        return None
    extension = name.rsplit(".", 1)[1].lower()
    if extension in PDF_EXTENSIONS:
        return "pdf"
    if extension in DOCUMENT_EXTENSIONS:
        return "doc"
    return None


def _file_kind_from_content_type(content_type: str) -> str | None:
    ct = content_type.split(";", 1)[0].strip().lower()
    if ct in _PDF_CONTENT_TYPES:
        return "pdf"
    if ct in _DOCUMENT_CONTENT_TYPES or ct.startswith(_DOCUMENT_CONTENT_TYPE_PREFIXES):
        return "doc"
    return None


def file_kind(
    *, content_type: str | None = None, url: str | None = None, filename: str | None = None
) -> str | None:
    """Classify a file as "pdf", "doc" (an other office or data document) or None (not counted).

    The content type decides when it is known; otherwise the extension of the filename or URL.
    Images, archives, HTML pages and unknown files are None.
    """
    if content_type:
        kind = _file_kind_from_content_type(content_type)
        if kind is not None:
            return kind
        if content_type.strip().lower() not in {"application/octet-stream", ""}:
            # A precise, non-document type (image, zip, html) beats a misleading extension.
            return None
    for candidate in (filename, url):
        if candidate:
            kind = _file_kind_from_extension(candidate)
            if kind is not None:
                return kind
    return None


def file_key(url: str) -> str:
    """The identity of a linked file, so the same file linked twice is counted once.

    GOV.UK serves an upload under the same path on several hosts (www.gov.uk, assets.*), so
    for those hosts the path alone is the key; elsewhere host and path.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    if not host or any(host == h or host.endswith("." + h) for h in _GOVUK_HOSTS):
        return path
    return f"{host}{path}"


def document_links(html: str) -> Iterator[tuple[str, str]]:
    """Yield (key, kind) for every link in an HTML fragment whose href names a PDF or document."""
    if not html or "href" not in html.lower():
        return
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return
    for anchor in root.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.lower().startswith(("mailto:", "tel:", "#", "javascript:")):
            continue
        kind = _file_kind_from_extension(href)
        if kind is not None:
            yield file_key(href), kind


def attachment_files(attachments: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """Yield (key, kind) for each attachment that is a PDF or a document.

    HTML attachments (`attachment_type` "html") are pages on GOV.UK, not documents.
    """
    for attachment in attachments:
        if not isinstance(attachment, Mapping):
            continue
        if str(attachment.get("attachment_type") or "").lower() == "html":
            continue
        url = attachment.get("url") if isinstance(attachment.get("url"), str) else None
        filename = attachment.get("filename")
        content_type = attachment.get("content_type")
        kind = file_kind(
            content_type=content_type if isinstance(content_type, str) else None,
            url=url,
            filename=filename if isinstance(filename, str) else None,
        )
        if kind is None:
            continue
        identity = url or filename or str(attachment.get("id") or "")
        yield file_key(identity), kind


def text_metrics(
    html_fragments: Iterable[str],
    attachments: Iterable[Mapping[str, Any]] = (),
    document_html: Iterable[str] = (),
) -> TextMetrics:
    """Compute the text and attachment figures of an edition.

    Args:
        html_fragments: The body text of the edition as HTML fragments, in reading order (each
            fragment is its own block; plain text is accepted). Their words are counted and
            their links to PDFs and documents too.
        attachments: Attachment records (`details.attachments` of a content item): dicts with
            `content_type`, `url`, `filename`, `attachment_type`.
        document_html: HTML that lists the edition's files but is not prose (for example
            `details.documents` of older publications); only its document links are counted.

    Returns:
        The figures. `pdf_count` and `doc_count` count distinct files (by URL) among the
        attachments and the document links of all the HTML together.
    """
    fragments = [html for html in html_fragments if isinstance(html, str)]
    segments = [segment for html in fragments for segment in visible_segments(html)]

    words = 0
    syllables = 0
    sentences = 0
    for segment in segments:
        for chunk in _SENTENCE_END.split(segment):
            chunk_words = [token for token in chunk.split() if is_word(token)]
            if chunk_words:
                sentences += 1
                words += len(chunk_words)
                syllables += sum(count_syllables(token) for token in chunk_words)

    # One entry per distinct file: the first source to name it decides its kind.
    files: dict[str, str] = {}
    for key, kind in attachment_files(attachments):
        files.setdefault(key, kind)
    for html in [*fragments, *(h for h in document_html if isinstance(h, str))]:
        for key, kind in document_links(html):
            files.setdefault(key, kind)

    return TextMetrics(
        words=words,
        chars=len(" ".join(segments)),
        sentences=sentences,
        readability=flesch_reading_ease(words, sentences, syllables),
        pdf_count=sum(1 for kind in files.values() if kind == "pdf"),
        doc_count=sum(1 for kind in files.values() if kind == "doc"),
    )

"""JSON-LD, kept at arm's length: shape checks, audience helpers and an offline pyld loader.

fedigen reads incoming ActivityStreams 2.0 as plain JSON with the known aliases, as Mastodon
does (AS2 Core section 2.1 lets consumers do so; ``as:Public``, ``Public`` and the full IRI all
mean public). JSON-LD processing
proper (:func:`expand`, and the Linked Data signature checks of :mod:`activitypub.ldsig`) runs pyld
with :func:`document_loader` (through :func:`pyld_options`),
which serves only the context files bundled in ``activitypub/contexts/`` and never touches the
network: a ``@context`` naming an internal URL or a huge document is never fetched
(docs/refusals.md case 24).

:func:`check_document` refuses the top-level keyword shapes we will not interpret
(``@graph``, ``@included``, ``@reverse``) and bounds nesting and list sizes so that every later
walk over a document is cheap.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from cachetools import LRUCache

from .errors import InvalidActivityError

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"

# AS2 Core 6.1: "as:Public" and "Public" are the compact forms some servers send.
_PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

MAX_DEPTH = 32
MAX_LIST_ITEMS = 10_000

# Keywords whose top-level use turns one document into several graphs or reverses edges;
# an activity never needs them and they let a peer smuggle nodes past plain-JSON reading.
_REFUSED_KEYWORDS = ("@graph", "@included", "@reverse")

# Context IRI (scheme-less, no trailing slash or ".jsonld") -> bundled file.
_BUNDLED: dict[str, str] = {
    "www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "w3id.org/security/v1": "security-v1.jsonld",
    # The published identity context itself: Linked Data Signatures hash their options under it
    # (activitypub.ldsig), so an alias with the same terms for most uses would not be enough.
    "w3id.org/identity/v1": "identity-v1.jsonld",
    "w3id.org/security/data-integrity/v1": "data-integrity-v1.jsonld",
    "w3id.org/security/multikey/v1": "multikey-v1.jsonld",
    # Fedify puts the DID context on every actor (for assertionMethod / Multikey keys).
    "www.w3.org/ns/did/v1": "did-v1.jsonld",
}

# pyld's default resolved-context cache is process-global and shared with any other pyld
# user; ours is private so nothing a network-enabled loader cached elsewhere is ever used.
_context_cache: LRUCache[str, Any] = LRUCache(maxsize=100)


def _bundle_key(url: str) -> str | None:
    """Map the http/https, trailing-slash and ``.jsonld`` spellings of a context IRI to one key."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment:
        return None
    path = parts.path.rstrip("/")
    path = path.removesuffix(".jsonld")
    key = f"{parts.netloc.lower()}{path}"
    return key if key in _BUNDLED else None


@cache
def _bundled_text(filename: str) -> str:
    return resources.files("activitypub").joinpath("contexts", filename).read_text(encoding="utf-8")


def bundled_context_urls() -> list[str]:
    """Return the canonical https IRIs of every bundled context."""
    return [f"https://{key}" for key in _BUNDLED]


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Serve a bundled JSON-LD context to pyld; refuse any other URL without network I/O."""
    # pyld (and the requests library it pulls in) is imported only when JSON-LD is really processed:
    # the inbox treats AS2 as plain JSON, and ~12 MB of idle memory stays unspent.
    from pyld import jsonld as pyld_jsonld

    key = _bundle_key(url)
    if key is None:
        raise pyld_jsonld.JsonLdError(
            f"refusing to load {url!r}: only bundled contexts are served, nothing is fetched",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": json.loads(_bundled_text(_BUNDLED[key])),
    }


def pyld_options() -> dict[str, Any]:
    """pyld options that load only the bundled contexts, with our private resolved-context cache."""
    from pyld.context_resolver import ContextResolver

    return {
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_context_cache, document_loader),
    }


def expand(doc: Mapping[str, Any]) -> list[Any]:
    """Expand ``doc`` with pyld using only the bundled contexts (InvalidActivityError otherwise)."""
    from pyld import jsonld as pyld_jsonld

    check_document(doc)
    options = pyld_options()
    try:
        result = pyld_jsonld.expand(copy.deepcopy(dict(doc)), options)
    except pyld_jsonld.JsonLdError as exc:
        raise InvalidActivityError(f"JSON-LD expansion failed: {root_message(exc)}") from exc
    return list(result)


def root_message(exc: BaseException) -> str:
    """pyld nests the useful message in a chain of causes: report the innermost one."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc.args[0]) if exc.args else type(exc).__name__


def check_document(doc: Mapping[str, Any], *, raw: bytes | None = None) -> None:
    """Refuse top-level keyword shapes we do not process and documents too deep or too long. ``raw`` is
    the JSON ``doc`` was parsed from, when at hand: its text is checked only when it may hold a lone
    surrogate (see :func:`check_bounds`)."""
    if not isinstance(doc, Mapping):
        raise InvalidActivityError("a document must be a JSON object")
    for keyword in _REFUSED_KEYWORDS:
        if keyword in doc:
            raise InvalidActivityError(f"top-level {keyword} is not accepted")
    if "@context" in doc:
        _check_context(doc["@context"])
    check_bounds(doc, texts=raw is None or may_hold_surrogates(raw))


def _check_context(context: Any) -> None:
    """Accept a context IRI, an inline context or a list of those; refuse any other shape.

    A context URL we do not bundle is fine here: plain-JSON reading never dereferences it, and
    :func:`expand` refuses it without a fetch.
    """
    items = context if isinstance(context, list) else [context]
    for item in items:
        if isinstance(item, str):
            continue
        if not isinstance(item, dict):
            raise InvalidActivityError(f"@context entries must be IRIs or objects, not {type(item).__name__}")
        for term, definition in item.items():
            target = definition.get("@id") if isinstance(definition, dict) else definition
            if target in _REFUSED_KEYWORDS or (isinstance(definition, dict) and "@reverse" in definition):
                # An alias such as {"members": "@graph"} is the same shape under another name.
                raise InvalidActivityError(f"@context term {term!r} aliases a refused keyword")


def _check_text(text: str) -> None:
    # JSON may spell a lone UTF-16 surrogate ("\ud800"); no database or peer can store or read it.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidActivityError("the document holds text that is not valid Unicode") from None


# Where a lone surrogate in parsed JSON can come from: an escape of U+D800-U+DFFF, or its three bytes
# sent raw (json.loads decodes bytes with "surrogatepass").
_SURROGATE_SOURCE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")


def may_hold_surrogates(raw: bytes) -> bool:
    """Whether JSON parsed from ``raw`` may hold a lone surrogate (False only for UTF-8 without one)."""
    return json.detect_encoding(raw) != "utf-8" or _SURROGATE_SOURCE.search(raw) is not None


def check_bounds(value: Any, *, texts: bool = True) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH, holding a list longer than MAX_LIST_ITEMS, or holding
    text that is not valid Unicode (an unpaired surrogate; ``texts=False`` when the source was seen
    to hold none, :func:`may_hold_surrogates`)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
            continue
        if isinstance(node, dict):
            if texts:
                for key in node:
                    _check_text(str(key))
            children: Any = node.values()
        elif isinstance(node, list):
            if len(node) > MAX_LIST_ITEMS:
                raise InvalidActivityError(f"a list holds {len(node)} items; the limit is {MAX_LIST_ITEMS}")
            children = node
        else:
            continue
        if depth > MAX_DEPTH:
            raise InvalidActivityError(f"the document is nested deeper than {MAX_DEPTH} levels")
        kinds = (dict, list, str) if texts else (dict, list)
        stack.extend((child, depth + 1) for child in children if isinstance(child, kinds))


def type_of(doc: Mapping[str, Any]) -> str | None:
    """A document's ``type`` when it is one string (a list or object there names no type we handle)."""
    kind = doc.get("type")
    return kind if isinstance(kind, str) else None


def is_public(value: str) -> bool:
    """Return True for any spelling of the public collection (full IRI, ``as:Public``, ``Public``)."""
    return value in _PUBLIC_ALIASES


def id_of(value: Any) -> str | None:
    """Return the id of a reference: the string itself, or an object's string ``id``."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        ap_id = value.get("id")
        return ap_id if isinstance(ap_id, str) else None
    return None


def ids_of(value: Any) -> list[str]:
    """Return the ids of a reference or a list of references, skipping entries without one."""
    items = value if isinstance(value, list) else [value]
    return [ap_id for item in items if (ap_id := id_of(item)) is not None]


def normalize_audience(value: Any) -> list[str]:
    """Return the ids in an addressing field, each Public alias folded to PUBLIC, without repeats."""
    folded = (PUBLIC if is_public(ap_id) else ap_id for ap_id in ids_of(value))
    return list(dict.fromkeys(folded))

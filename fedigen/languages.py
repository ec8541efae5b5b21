"""Post languages: the ISO 639-1 codes a post, an account's default or the instance's default may name.

A code is read as Mastodon reads it (its ``valid_locale_or_nil``): case-insensitive, and a regional
form (``en-US``, ``pt_BR``) stands for its language (``en``, ``pt``). Anything else is not a language
here. The names are the codes' English names, for ``GET /api/v1/instance/languages``.
"""

from __future__ import annotations

import re

from fedigen.errors import ValidationError

# ISO 639-1, every code with its English name.
_NAMES = """
aa Afar|ab Abkhazian|ae Avestan|af Afrikaans|ak Akan|am Amharic|an Aragonese|ar Arabic|as Assamese
av Avaric|ay Aymara|az Azerbaijani|ba Bashkir|be Belarusian|bg Bulgarian|bh Bihari|bi Bislama
bm Bambara|bn Bengali|bo Tibetan|br Breton|bs Bosnian|ca Catalan|ce Chechen|ch Chamorro|co Corsican
cr Cree|cs Czech|cu Church Slavic|cv Chuvash|cy Welsh|da Danish|de German|dv Divehi|dz Dzongkha
ee Ewe|el Greek|en English|eo Esperanto|es Spanish|et Estonian|eu Basque|fa Persian|ff Fulah
fi Finnish|fj Fijian|fo Faroese|fr French|fy Western Frisian|ga Irish|gd Scottish Gaelic|gl Galician
gn Guarani|gu Gujarati|gv Manx|ha Hausa|he Hebrew|hi Hindi|ho Hiri Motu|hr Croatian|ht Haitian
hu Hungarian|hy Armenian|hz Herero|ia Interlingua|id Indonesian|ie Interlingue|ig Igbo|ii Sichuan Yi
ik Inupiaq|io Ido|is Icelandic|it Italian|iu Inuktitut|ja Japanese|jv Javanese|ka Georgian|kg Kongo
ki Kikuyu|kj Kuanyama|kk Kazakh|kl Kalaallisut|km Khmer|kn Kannada|ko Korean|kr Kanuri|ks Kashmiri
ku Kurdish|kv Komi|kw Cornish|ky Kyrgyz|la Latin|lb Luxembourgish|lg Ganda|li Limburgish|ln Lingala
lo Lao|lt Lithuanian|lu Luba-Katanga|lv Latvian|mg Malagasy|mh Marshallese|mi Maori|mk Macedonian
ml Malayalam|mn Mongolian|mr Marathi|ms Malay|mt Maltese|my Burmese|na Nauru|nb Norwegian Bokmal
nd North Ndebele|ne Nepali|ng Ndonga|nl Dutch|nn Norwegian Nynorsk|no Norwegian|nr South Ndebele
nv Navajo|ny Chichewa|oc Occitan|oj Ojibwa|om Oromo|or Oriya|os Ossetian|pa Punjabi|pi Pali|pl Polish
ps Pashto|pt Portuguese|qu Quechua|rm Romansh|rn Rundi|ro Romanian|ru Russian|rw Kinyarwanda
sa Sanskrit|sc Sardinian|sd Sindhi|se Northern Sami|sg Sango|si Sinhala|sk Slovak|sl Slovenian
sm Samoan|sn Shona|so Somali|sq Albanian|sr Serbian|ss Swati|st Southern Sotho|su Sundanese|sv Swedish
sw Swahili|ta Tamil|te Telugu|tg Tajik|th Thai|ti Tigrinya|tk Turkmen|tl Tagalog|tn Tswana|to Tonga
tr Turkish|ts Tsonga|tt Tatar|tw Twi|ty Tahitian|ug Uyghur|uk Ukrainian|ur Urdu|uz Uzbek|ve Venda
vi Vietnamese|vo Volapuk|wa Walloon|wo Wolof|xh Xhosa|yi Yiddish|yo Yoruba|za Zhuang|zh Chinese|zu Zulu
"""

LANGUAGES: dict[str, str] = dict(
    item.strip().split(" ", 1) for line in _NAMES.strip().splitlines() for item in line.split("|")
)
_REGIONAL = re.compile(r"^([A-Za-z]{2})[-_][A-Za-z0-9]{1,8}$")


def normalize(value: str) -> str:
    """The ISO 639-1 code ``value`` names (``"EN"``, ``"en-GB"`` -> ``"en"``); ValueError otherwise."""
    code = value.strip()
    regional = _REGIONAL.match(code)
    if regional:
        code = regional.group(1)
    code = code.lower()
    if code not in LANGUAGES:
        raise ValueError(f"{value[:20]!r} is not an ISO 639-1 language code")
    return code


def checked(field: str, value: str | None) -> str | None:
    """``value`` as an ISO 639-1 code (None or "" stay None), or a ValidationError naming ``field``."""
    if value is None or not value.strip():
        return None
    try:
        return normalize(value)
    except ValueError as exc:
        raise ValidationError(field, str(exc)) from None

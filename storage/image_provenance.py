"""The AI provenance an image carries: the XMP packet declaring IPTC DigitalSourceType
``trainedAlgorithmicMedia`` (written into every variant of a generated image), and reading the
DigitalSourceType back from an image's XMP.
"""

from __future__ import annotations

import io

from storage.image_decoding import ImageLimits, check_pixels, decoding, sniff_format

# LAZY: Pillow and ElementTree are imported where first used (benchmarks/memory.py).
IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
# XMP specification part 1, "XMP packet wrapper": the id is the fixed value the spec prescribes.
PROVENANCE_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    f' <rdf:RDF xmlns:rdf="{_RDF_NS}">\n'
    f'  <rdf:Description rdf:about="" xmlns:Iptc4xmpExt="{IPTC_EXT_NS}">\n'
    f"   <Iptc4xmpExt:DigitalSourceType>{TRAINED_ALGORITHMIC_MEDIA}</Iptc4xmpExt:DigitalSourceType>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="r"?>'
).encode()


def provenance_xmp() -> bytes:
    """An XMP packet declaring IPTC DigitalSourceType trainedAlgorithmicMedia (made by a generative model)."""
    return PROVENANCE_XMP


def read_provenance(data: bytes) -> str | None:
    """The IPTC DigitalSourceType URI in an image's XMP, or None when it has none."""
    from PIL import Image  # LAZY

    fmt = sniff_format(data)
    with decoding(), Image.open(io.BytesIO(data), formats=[fmt]) as im:
        xmp = im.info.get("xmp")
        if xmp is None and fmt == "PNG":  # an iTXt chunk after the pixel data is read by load()
            check_pixels(im.size, ImageLimits.max_pixels)
            im.load()
            xmp = im.info.get("xmp")
    return _digital_source_type(xmp) if isinstance(xmp, (bytes, str)) else None


def _digital_source_type(xmp: bytes | str) -> str | None:
    packet = (xmp.encode() if isinstance(xmp, str) else xmp).strip(b"\x00 \t\r\n")
    if b"<!DOCTYPE" in packet or b"<!ENTITY" in packet:  # XMP has no DTD; refuse entity tricks
        return None
    from xml.etree import ElementTree  # LAZY

    try:
        root = ElementTree.fromstring(packet)
    except ElementTree.ParseError:
        return None
    name = f"{{{IPTC_EXT_NS}}}DigitalSourceType"
    for element in root.iter():
        # RDF allows the property as an attribute, as text, or as an rdf:resource.
        value = element.attrib.get(name)
        if value is None and element.tag == name:
            value = element.attrib.get(f"{{{_RDF_NS}}}resource") or element.text
        if value and value.strip():
            return value.strip()
    return None

"""Generator vocabulary for every NAF subclass, derived from its official label.

:mod:`~mlcycle.tasks.text.nace_vocabulary` holds hand-written words for the most
frequent subclasses; every other subclass gets its words from its own official label
with a few rules a reader can check by hand:

1. Clean the label: first letter in lower case, no parentheses (``(commerce
   interentreprises)``), no ``n.c.a.`` and no exclusion (``, hors ...``, ``à
   l'exception ...``), no ``autre(s)`` (``Élevage d'autres bovins`` -> ``élevage de
   bovins``); labels joined by `` ; `` are read as two.
2. Split the activity from its object at the first ``de``: a known activity opening
   gives its usual wordings and the name of whoever does it (``Fabrication de X`` ->
   ``fabrication de X``, ``production de X``, ``fabricant de X``; ``Commerce de
   détail de X`` -> ``vente au détail de X``, ``magasin de X``; ``Culture de la canne
   à sucre`` -> ``culture de canne à sucre``, ``producteur de canne à sucre``); any
   other opening is kept as it is written (``transports fluviaux de``).
3. The object is one product and, split on commas, ``et`` and ``ou``, several
   (``café, thé, cacao et épices``); a trailing place or manner (``en magasin
   spécialisé``, ``sur éventaires et marchés``, ``avec chauffeur``) becomes a qualifier,
   beside a few qualifiers of the subclass's section.

Derived subclasses are grouped in families by NAF group (``472``...): a family shares
its members' activity wordings and qualifiers, not their products, so the words that
tell two members apart are the ones their labels differ by.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from mlcycle.tasks.text import nace
from mlcycle.tasks.text import nace_vocabulary as vocab
from mlcycle.tasks.text.nace_vocabulary import Pool, Subclass

# Products starting with an aspirated h take "de", not "d'".
_ASPIRATED_H = ("hai", "ham", "hot", "hau")
_VOWELS = frozenset("aeiouyhàâäéèêëîïôöûüœAEIOUYHÀÂÉÈÊÎÔÛŒ")


def starts_with_vowel(word: str) -> bool:
    """Does ``word`` take ``d'`` rather than ``de`` before it."""
    return word[:1] in _VOWELS and not word.lower().startswith(_ASPIRATED_H)


def elided(activity: str) -> str:
    """An activity ready to meet a word starting with a vowel (``vente de`` -> ``vente d'``)."""
    return activity[:-3] + " d'" if activity.endswith(" de") else activity + " "


def join(activity: str, item: str) -> str:
    """``fabricant de`` + ``huiles`` -> ``fabricant d'huiles``; an empty activity keeps
    the item alone."""
    if not activity:
        return item
    return (elided(activity) if starts_with_vowel(item) else activity + " ") + item


# Known activity openings: (regular expression of the opening, wordings of the
# activity, names of who does it). An empty name makes the object itself a head
# ("Activités des agences de voyage" -> "agences de voyage").
_OPENINGS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (r"commerces? de gros", ("commerce de gros de", "négoce de", "vente en gros de"),
     ("grossiste en", "négociant en")),
    (r"commerces? de détail", ("vente au détail de", "commerce de détail de", "vente de"),
     ("magasin de", "boutique de")),
    (r"intermédiaires? (?:spécialisés dans le|du) commerce", ("intermédiaire du commerce de",
     "agent commercial en"), ("agent commercial en",)),
    (r"centrales? d'achats?", ("centrale d'achat de",), ("centrale d'achat de",)),
    (r"commerce(?: et réparation)?", ("commerce de", "vente de"), ("marchand de",)),
    (r"fabrication(?: et [a-zé]+)?", ("fabrication de", "production de"), ("fabricant de",)),
    (r"culture", ("culture de", "production de"), ("producteur de",)),
    (r"élevage", ("élevage de",), ("éleveur de",)),
    (r"réparation(?: et maintenance)?", ("réparation de", "maintenance de", "dépannage de"),
     ("réparateur de",)),
    (r"installation", ("installation de", "pose de"), ("installateur de",)),
    (r"location(?:-bail| et location-bail)?(?: de (?:longue|courte) durée)?",
     ("location de", "location-bail de"), ("loueur de",)),
    (r"édition(?: et [a-zé]+)?", ("édition de", "publication de"), ("éditeur de",)),
    (r"production", ("production de",), ("producteur de",)),
    (r"extraction", ("extraction de", "exploitation de"), ()),
    (r"transformation(?: et conservation)?", ("transformation de", "conservation de"),
     ("transformateur de",)),
    (r"construction(?: et entretien)?", ("construction de", "réalisation de"),
     ("constructeur de",)),
    (r"travaux", ("travaux de",), ("entreprise de",)),
    (r"activités?", ("activités de", "services de"), ("",)),
    (r"gestion", ("gestion de", "exploitation de"), ("gestionnaire de",)),
)  # fmt: skip
_PREPOSITION = "(?:de la |de l'|de |d'|du |des )"
# Each opening alone, and followed by the "de" that starts its object.
_OPENING = [
    (
        re.compile(rf"^(?:{pattern})\b"),
        re.compile(rf"^(?:{pattern}) {_PREPOSITION}"),
        activities,
        agents,
    )
    for pattern, activities, agents in _OPENINGS
]
# Any other opening ends at the first "de" (or "pour": "Hébergement social pour ...").
_FIRST_DE = re.compile(r"^(.+?) (de la |de l'|de |d'|du |des |pour )(.+)$")
_PLAIN_ACTIVITIES = ("activité de", "entreprise de")

# A place or manner closing a label, kept as a qualifier.
_TRAILING = re.compile(r"^(.+?) ((?:en|sur|sans|avec|sous|par) [^,]+)$")
# What separates the products of an object, and articles in front of one.
_ITEMS = re.compile(r", | et | ou ")
_ARTICLE = re.compile(r"^(?:de la |de l'|de |d'|du |des |la |le |les |l'|à |aux |en )")
# Parts too vague to be a product on their own ("... et articles en cuir").
_VAGUE = frozenset((
    "articles", "produits", "biens", "équipements", "matériel", "matériels", "machines",
    "services", "activités", "construction", "culture",
))  # fmt: skip

_CLEANING = (
    (re.compile(r"\s*\([^)]*\)"), ""),  # (commerce interentreprises)
    (re.compile(r",?\s*n\.c\.a\.|\s*non classée?s? ailleurs"), ""),
    (re.compile(r",?\s+(?:hors|sauf|à l'exception|autres? que|y compris)\b.*$"), ""),
    (re.compile(r"\bd'autres?\s"), "de "),
    (re.compile(r"\b(?:autres?|divers)\s"), ""),
    (re.compile(r"\bcommerce en "), "commerce de "),  # "Intermédiaires du commerce en ..."
    (re.compile(r"\bde ([aeiouyéèêœ])"), r"d'\1"),  # "de équidés" after "d'autres" went
    (re.compile(r"\s+"), " "),
)


def clean(label: str) -> list[str]:
    """The label as a registry clerk would copy it, one piece per activity."""
    text = label[:1].lower() + label[1:]
    for pattern, replacement in _CLEANING:
        text = pattern.sub(replacement, text)
    return [piece.strip(" ,") for piece in text.split(" ; ") if piece.strip(" ,")]


def _products(obj: str) -> tuple[list[str], list[str]]:
    """The parts of an object (the whole first) without its trailing place or manner,
    and that place or manner as a qualifier."""
    trailing = _TRAILING.match(obj)
    core = trailing[1] if trailing else obj
    parts = _ITEMS.split(core)
    noun = parts[0].split()[0] if " " in parts[0] else ""
    kept = [_part(part, noun) for part in parts]
    kept = [part for part in kept if len(part) > 2 and part not in _VAGUE]
    return _unique([core, *kept]), [trailing[2]] if trailing else []


def _part(part: str, noun: str) -> str:
    """One part of an object without its article; a lone adjective after the first
    part takes that part's noun ("machines agricoles et forestières" -> "machines
    forestières")."""
    bare = _ARTICLE.sub("", part).strip()
    if noun and bare == part and " " not in part and part != noun:
        return f"{noun} {part}"
    return bare


def _unique(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


def _piece_words(piece: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Heads, activities, products and qualifiers of one cleaned label piece."""
    opened = 0  # length of a known opening with no object ("commerce de gros non ...")
    for bare, with_object, activities, agents in _OPENING:
        opening = bare.match(piece)
        if opening is None:
            continue
        found = with_object.match(piece)
        if found is None:
            opened = opening.end()
            break
        obj = piece[found.end() :]
        products, qualifiers = _products(obj)
        heads = [join(agent, p) for agent in agents for p in products[:4]]
        return [piece, *heads], list(activities), _unique([obj, *products]), qualifiers
    split = _FIRST_DE.match(piece)
    if split and len(split[1]) > opened:  # a "de" inside the opening starts no object
        products, qualifiers = _products(split[3])
        activity = split[1] + (" pour" if split[2] == "pour " else " de")
        return [piece], [activity], _unique([split[3], *products]), qualifiers
    products, qualifiers = _products(piece)
    return [piece], list(_PLAIN_ACTIVITIES), products, qualifiers


def derive(code: str, label: str) -> Pool:
    """The words of one subclass, read off its official label."""
    heads: list[str] = []
    activities: list[str] = []
    products: list[str] = []
    qualifiers: list[str] = []
    for piece in clean(label):
        words = _piece_words(piece)
        for pool, found in zip((heads, activities, products, qualifiers), words, strict=True):
            pool.extend(found)
    qualifiers.extend(vocab.SECTION_QUALIFIERS[nace.section_of(code)])
    return Pool(*(tuple(_unique(pool)) for pool in (heads, activities, products, qualifiers)))


@dataclass(frozen=True)
class Vocabulary:
    """Every subclass with its words (hand-written or derived), and the family pools."""

    subclasses: tuple[Subclass, ...]  # in code order
    families: dict[str, Pool]


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The hand-written subclasses and families, plus a derived one for every other."""
    written = {s.code: s for s in vocab.SUBCLASSES}
    derived = [
        Subclass(code, text, f"naf:{code[:3]}", derive(code, text))
        for code, text in nace.subclasses()
        if code not in written
    ]
    families = dict(vocab.FAMILIES)
    for family in _unique([s.family for s in derived]):
        members = [s.words for s in derived if s.family == family]
        shared = (_unique([w for m in members for w in getattr(m, slot)]) for slot in vocab.SLOTS)
        _, activities, _, qualifiers = shared
        # Activity wordings and qualifiers only: products tell the members apart.
        families[family] = Pool((), tuple(activities), (), tuple(qualifiers))
    everything = sorted([*written.values(), *derived], key=lambda s: s.code)
    return Vocabulary(tuple(everything), families)

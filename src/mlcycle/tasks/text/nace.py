"""NACE rev.2 / NAF rev.2 code helpers: validation, hierarchy levels and labels.

A NAF subclass code is four digits and a letter (``5610A``) whose first two digits
are a division of NACE rev.2 (``0400Z`` has the shape but no division: not a code).
Its levels read off the code itself: the section is a letter found from the division,
the division is two digits, the group three, the class four, the subclass all five.

It depends on the standard library only. ``NAF_REV2`` offers it as a nomenclature
(:mod:`mlcycle.tasks.labels`) to evaluation, serving and monitoring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SUBCLASS_PATTERN = re.compile(r"^\d{4}[A-Z]$")
LEVELS = ("section", "division", "group", "class", "subclass")

# Characters people put inside codes ("56.10A", "56 10 A") that carry no meaning.
_SEPARATORS = re.compile(r"[\s.]+")

# The official division ranges of each section (inclusive); numbers missing from the
# ranges (04, 34, 40, 44, ...) are not divisions of NACE rev.2.
_SECTION_RANGES: tuple[tuple[str, int, int], ...] = (
    ("A", 1, 3),
    ("B", 5, 9),
    ("C", 10, 33),
    ("D", 35, 35),
    ("E", 36, 39),
    ("F", 41, 43),
    ("G", 45, 47),
    ("H", 49, 53),
    ("I", 55, 56),
    ("J", 58, 63),
    ("K", 64, 66),
    ("L", 68, 68),
    ("M", 69, 75),
    ("N", 77, 82),
    ("O", 84, 84),
    ("P", 85, 85),
    ("Q", 86, 88),
    ("R", 90, 93),
    ("S", 94, 96),
    ("T", 97, 98),
    ("U", 99, 99),
)
_DIVISION_SECTION: dict[str, str] = {
    f"{division:02d}": section
    for section, first, last in _SECTION_RANGES
    for division in range(first, last + 1)
}

# The two-digit divisions of NACE rev.2 ("01" ... "99").
DIVISIONS: frozenset[str] = frozenset(_DIVISION_SECTION)

SECTION_LABELS: dict[str, str] = {
    "A": "Agriculture, sylviculture et pêche",
    "B": "Industries extractives",
    "C": "Industrie manufacturière",
    "D": "Production et distribution d'électricité, de gaz, de vapeur et d'air conditionné",
    "E": "Production et distribution d'eau ; assainissement, gestion des déchets et dépollution",
    "F": "Construction",
    "G": "Commerce ; réparation d'automobiles et de motocycles",
    "H": "Transports et entreposage",
    "I": "Hébergement et restauration",
    "J": "Information et communication",
    "K": "Activités financières et d'assurance",
    "L": "Activités immobilières",
    "M": "Activités spécialisées, scientifiques et techniques",
    "N": "Activités de services administratifs et de soutien",
    "O": "Administration publique",
    "P": "Enseignement",
    "Q": "Santé humaine et action sociale",
    "R": "Arts, spectacles et activités récréatives",
    "S": "Autres activités de services",
    "T": "Activités des ménages en tant qu'employeurs ; activités indifférenciées des "
    "ménages en tant que producteurs de biens et services pour usage propre",
    "U": "Activités extra-territoriales",
}

# Official labels of the subclasses the synthetic generator uses.
SUBCLASS_LABELS: dict[str, str] = {
    "0111Z": "Culture de céréales (à l'exception du riz), de légumineuses et de graines "
    "oléagineuses",
    "0113Z": "Culture de légumes, de melons, de racines et de tubercules",
    "0121Z": "Culture de la vigne",
    "0141Z": "Élevage de vaches laitières",
    "0321Z": "Aquaculture en mer",
    "1013B": "Charcuterie",
    "1071A": "Fabrication industrielle de pain et de pâtisserie fraîche",
    "1071C": "Boulangerie et boulangerie-pâtisserie",
    "1071D": "Pâtisserie",
    "1102B": "Vinification",
    "3109B": "Fabrication d'autres meubles et industries connexes de l'ameublement",
    "3511Z": "Production d'électricité",
    "3811Z": "Collecte des déchets non dangereux",
    "4120A": "Construction de maisons individuelles",
    "4120B": "Construction d'autres bâtiments",
    "4321A": "Travaux d'installation électrique dans tous locaux",
    "4322A": "Travaux d'installation d'eau et de gaz en tous locaux",
    "4322B": "Travaux d'installation d'équipements thermiques et de climatisation",
    "4332A": "Travaux de menuiserie bois et PVC",
    "4334Z": "Travaux de peinture et vitrerie",
    "4391B": "Travaux de couverture par éléments",
    "4399C": "Travaux de maçonnerie générale et gros œuvre de bâtiment",
    "4511Z": "Commerce de voitures et de véhicules automobiles légers",
    "4520A": "Entretien et réparation de véhicules automobiles légers",
    "4520B": "Entretien et réparation d'autres véhicules automobiles",
    "4711A": "Commerce de détail de produits surgelés",
    "4711B": "Commerce d'alimentation générale",
    "4711C": "Supérettes",
    "4711D": "Supermarchés",
    "4711F": "Hypermarchés",
    "4722Z": "Commerce de détail de viandes et de produits à base de viande en magasin spécialisé",
    "4723Z": "Commerce de détail de poissons, crustacés et mollusques en magasin spécialisé",
    "4724Z": "Commerce de détail de pain, pâtisserie et confiserie en magasin spécialisé",
    "4725Z": "Commerce de détail de boissons en magasin spécialisé",
    "4726Z": "Commerce de détail de produits à base de tabac en magasin spécialisé",
    "4771Z": "Commerce de détail d'habillement en magasin spécialisé",
    "4773Z": "Commerce de détail de produits pharmaceutiques en magasin spécialisé",
    "4778C": "Autres commerces de détail spécialisés divers",
    "4781Z": "Commerce de détail alimentaire sur éventaires et marchés",
    "4791B": "Vente à distance sur catalogue spécialisé",
    "4932Z": "Transports de voyageurs par taxis",
    "4941A": "Transports routiers de fret interurbains",
    "4941B": "Transports routiers de fret de proximité",
    "5320Z": "Autres activités de poste et de courrier",
    "5510Z": "Hôtels et hébergement similaire",
    "5520Z": "Hébergement touristique et autre hébergement de courte durée",
    "5610A": "Restauration traditionnelle",
    "5610B": "Cafétérias et autres libres-services",
    "5610C": "Restauration de type rapide",
    "5621Z": "Services des traiteurs",
    "5630Z": "Débits de boissons",
    "6201Z": "Programmation informatique",
    "6202A": "Conseil en systèmes et logiciels informatiques",
    "6202B": "Tierce maintenance de systèmes et d'applications informatiques",
    "6311Z": "Traitement de données, hébergement et activités connexes",
    "6622Z": "Activités des agents et courtiers d'assurances",
    "6820A": "Location de logements",
    "6820B": "Location de terrains et d'autres biens immobiliers",
    "6831Z": "Agences immobilières",
    "6910Z": "Activités juridiques",
    "6920Z": "Activités comptables",
    "7022Z": "Conseil pour les affaires et autres conseils de gestion",
    "7111Z": "Activités d'architecture",
    "7311Z": "Activités des agences de publicité",
    "7420Z": "Activités photographiques",
    "7500Z": "Activités vétérinaires",
    "7711A": "Location de courte durée de voitures et de véhicules automobiles légers",
    "8121Z": "Nettoyage courant des bâtiments",
    "8130Z": "Services d'aménagement paysager",
    "8551Z": "Enseignement de disciplines sportives et d'activités de loisirs",
    "8553Z": "Enseignement de la conduite",
    "8559A": "Formation continue d'adultes",
    "8621Z": "Activité des médecins généralistes",
    "8622C": "Autres activités des médecins spécialistes",
    "8623Z": "Pratique dentaire",
    "8690D": "Activités des infirmiers et des sages-femmes",
    "9001Z": "Arts du spectacle vivant",
    "9313Z": "Activités des centres de culture physique",
    "9529Z": "Réparation d'autres biens personnels et domestiques",
    "9602A": "Coiffure",
    "9602B": "Soins de beauté",
    "9604Z": "Entretien corporel",
    "9609Z": "Autres services personnels n.c.a.",
}


def normalise_code(raw: str) -> str | None:
    """Bring a subclass code to its canonical form.

    Args:
        raw: A code as people write it: ``"56.10A"``, ``" 5610a "``, ``"56 10 A"``.

    Returns:
        The canonical five-character code (``"5610A"``), or None when the input is not
        a subclass code: malformed, or not starting with a NACE rev.2 division
        (``"0400Z"``), so that every code it returns has a section.
    """
    if not isinstance(raw, str):
        return None
    compact = _SEPARATORS.sub("", raw)
    # ASCII before upper case: "ſ".upper() is "S", and \d accepts digits of any script.
    if not compact.isascii():
        return None
    code = compact.upper()
    well_formed = SUBCLASS_PATTERN.match(code)
    return code if well_formed and code[:2] in DIVISIONS else None


def _compact(code: str) -> str:
    return _SEPARATORS.sub("", code).upper()


def section_of(code: str) -> str:
    """The section letter of a code of any level from division down.

    Args:
        code: A subclass, class, group or division code (``"5610A"``, ``"56.10"``,
            ``"56"``), or a section letter, which is returned as is.

    Returns:
        The section letter, e.g. ``"I"`` for ``"5610A"``.

    Raises:
        ValueError: If the code does not start with a division of NACE rev.2.
    """
    compact = _compact(code) if isinstance(code, str) else ""
    if len(compact) == 1 and compact in SECTION_LABELS:
        return compact
    section = _DIVISION_SECTION.get(compact[:2])
    if section is None:
        raise ValueError(f"{code!r} does not start with a NACE rev.2 division.")
    return section


# Number of leading characters each numeric level keeps.
_LEVEL_WIDTH = {"division": 2, "group": 3, "class": 4}


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}; choose one of {', '.join(LEVELS)}.")


def at_level(code: str, level: str) -> str:
    """The ancestor of a subclass code at a level of the hierarchy.

    Args:
        code: A subclass code; dots, spaces and lower case are tolerated.
        level: One of :data:`LEVELS`.

    Returns:
        The section letter, or the 2-, 3- or 4-digit prefix, or the whole subclass.

    Raises:
        ValueError: If the level is unknown or the code is not a valid subclass code.
    """
    _check_level(level)
    canonical = normalise_code(code)
    if canonical is None:
        raise ValueError(f"{code!r} is not a NAF subclass code such as 5610A.")
    if level == "section":
        return section_of(canonical)
    if level == "subclass":
        return canonical
    return canonical[: _LEVEL_WIDTH[level]]


def codes_at_level(codes: Sequence[str], level: str) -> list[str]:
    """Map many subclass codes to one level, computing each distinct code once.

    Args:
        codes: Subclass codes, typically a label column with few distinct values.
        level: One of :data:`LEVELS`.

    Returns:
        The codes at that level, in the input order.

    Raises:
        ValueError: If the level is unknown or any code is invalid.
    """
    _check_level(level)
    cache: dict[str, str] = {}
    out: list[str] = []
    for code in codes:
        mapped = cache.get(code)
        if mapped is None:
            mapped = cache[code] = at_level(code, level)
        out.append(mapped)
    return out


def label(code: str) -> str | None:
    """The official French label of a section letter or of a known subclass.

    Args:
        code: A section letter (``"I"``) or a subclass code (``"56.10A"``).

    Returns:
        The label, or None when the code is not one this module knows.
    """
    if not isinstance(code, str):
        return None
    compact = _compact(code)
    if len(compact) == 1:
        return SECTION_LABELS.get(compact)
    return SUBCLASS_LABELS.get(compact)


def _written_pattern() -> str:
    """A regular expression of the subclass codes :meth:`NafRev2.normalise` accepts, as
    people write them: dots and white space anywhere, any case, a real division."""
    sep = r"[\s.]*"
    divisions = "|".join(f"{d[0]}{sep}{d[1]}" for d in sorted(_DIVISION_SECTION))
    return f"^{sep}(?:{divisions}){sep}[0-9]{sep}[0-9]{sep}[A-Za-z]{sep}$"


class NafRev2:
    """NAF rev.2 as a :class:`mlcycle.tasks.labels.Nomenclature` (labels are subclasses)."""

    name = "naf-rev2"
    levels = LEVELS
    written_pattern = _written_pattern()

    def normalise(self, code: str) -> str | None:
        canonical = normalise_code(code)
        if canonical is None:
            return None
        try:
            section_of(canonical)
        except ValueError:  # 0400Z: the pattern, but no such division
            return None
        return canonical

    def at_level(self, codes: Sequence[str], level: str) -> list[str]:
        return codes_at_level(codes, level)

    def label(self, code: str) -> str | None:
        return label(code)


NAF_REV2 = NafRev2()

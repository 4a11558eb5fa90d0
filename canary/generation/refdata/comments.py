"""Clinical comments of lab files, with who they may apply to.

Each entry: (text, sex or None for both, youngest age, oldest age, weight). A {weeks}
in the text is the pregnancy term in weeks (SA, semaines d'aménorrhée).
"""

CLINICAL_COMMENTS: tuple[tuple[str, str | None, int, int, int], ...] = (
    ("enceinte", "F", 16, 45, 8),
    ("grossesse {weeks} SA", "F", 16, 45, 10),
    ("grossesse gémellaire {weeks} SA", "F", 20, 42, 1),
    ("FIV en cours", "F", 25, 43, 2),
    ("allaitement", "F", 17, 45, 2),
    ("sous pilule", "F", 15, 50, 2),
    ("ménopausée", "F", 45, 110, 2),
    ("diabète type 2", None, 35, 110, 12),
    ("diabète type 1", None, 3, 90, 3),
    ("sous AVK (Préviscan)", None, 50, 110, 6),
    ("sous AVK (Coumadine), INR cible 2-3", None, 50, 110, 5),
    ("sous AOD (Eliquis)", None, 55, 110, 4),
    ("sous Lovenox", None, 18, 110, 3),
    ("suivi VIH", None, 18, 85, 3),
    ("hypothyroïdie", None, 15, 110, 7),
    ("sous Levothyrox", None, 15, 110, 5),
    ("insuffisance rénale chronique", None, 50, 110, 4),
    ("dialysé", None, 40, 95, 1),
    ("chimiothérapie en cours", None, 30, 95, 3),
    ("sous méthotrexate", None, 20, 95, 2),
    ("sous lithium", None, 18, 90, 1),
    ("greffé rénal", None, 18, 85, 1),
    ("hépatite C guérie", None, 25, 90, 1),
    ("suivi PSA", "M", 50, 95, 4),
    ("hémophilie A", "M", 1, 90, 1),
    ("drépanocytose", None, 1, 70, 1),
    ("à jeun", None, 0, 110, 6),
    ("difficile à prélever", None, 0, 110, 4),
    ("prélèvement à domicile", None, 70, 110, 5),
    ("résident EHPAD", None, 75, 110, 3),
    ("allergie au latex", None, 0, 110, 1),
    ("bilan préopératoire", None, 2, 95, 4),
    ("nourrisson, prélèvement capillaire", None, 0, 1, 2),
)

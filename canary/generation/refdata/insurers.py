"""Complementary health insurers (mutuelles) found in French lab files, with rough weights."""

# (name as lab software stores it, weight)
INSURERS: tuple[tuple[str, int], ...] = (
    ("MGEN", 12), ("Harmonie Mutuelle", 14), ("Malakoff Humanis", 8), ("AG2R La Mondiale", 7),
    ("Groupama", 6), ("AXA", 6), ("Allianz", 3), ("Swiss Life", 3), ("Apicil", 3), ("PRO BTP", 3),
    ("MNT", 2), ("Klesia", 2), ("Aésio Mutuelle", 4), ("La Mutuelle Générale", 3), ("Macif", 4),
    ("Matmut", 3), ("MAAF", 3), ("Mutuelle Bleue", 1), ("Intériale", 1), ("Complémentaire santé solidaire", 6),
)

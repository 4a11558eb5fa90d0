"""Countries of birth for patients born abroad: INSEE country code (the NIR's 99 + code), name, a city.

Born before their independence, people from Algeria, Morocco and Tunisia carry older
codes in their NIR; they are only drawn as a birthplace from the year given on.
"""

# (INSEE code, country, city, first birth year drawn, weight)
BIRTH_COUNTRIES: tuple[tuple[str, str, str, int, int], ...] = (
    ("99352", "Algérie", "Alger", 1963, 14),
    ("99350", "Maroc", "Casablanca", 1957, 12),
    ("99351", "Tunisie", "Tunis", 1957, 6),
    ("99139", "Portugal", "Porto", 1900, 10),
    ("99127", "Italie", "Turin", 1900, 5),
    ("99134", "Espagne", "Madrid", 1900, 5),
    ("99131", "Belgique", "Bruxelles", 1900, 3),
    ("99109", "Allemagne", "Sarrebruck", 1900, 3),
    ("99132", "Royaume-Uni", "Londres", 1900, 2),
    ("99140", "Suisse", "Genève", 1900, 2),
    ("99122", "Pologne", "Varsovie", 1900, 2),
    ("99114", "Roumanie", "Bucarest", 1900, 2),
    ("99208", "Turquie", "Istanbul", 1900, 3),
    ("99341", "Sénégal", "Dakar", 1961, 3),
    ("99335", "Mali", "Bamako", 1961, 3),
    ("99326", "Côte d'Ivoire", "Abidjan", 1961, 3),
    ("99322", "Cameroun", "Douala", 1961, 2),
    ("99243", "Viêt Nam", "Hô Chi Minh-Ville", 1955, 2),
    ("99216", "Chine", "Wenzhou", 1900, 2),
)

"""Street vocabulary and address complements for French addresses."""

# (street type, weight)
STREET_TYPES: tuple[tuple[str, int], ...] = (
    ("rue", 50), ("avenue", 12), ("boulevard", 5), ("chemin", 8), ("allée", 6), ("impasse", 6),
    ("place", 3), ("route", 6), ("square", 1), ("quai", 1), ("cours", 1), ("résidence", 1),
)

# Names found in nearly every town. Most canaries get an invented, person-named street
# instead (see patients.py), so that a letter to a canary is unlikely to reach a household.
COMMON_STREET_NAMES: tuple[str, ...] = (
    "de la République", "Victor Hugo", "Jean Jaurès", "de la Gare", "de l'Église", "Pasteur", "du Moulin",
    "des Écoles", "de la Mairie", "du Général de Gaulle", "Jules Ferry", "des Lilas", "des Tilleuls",
    "du Stade", "de la Paix", "Gambetta", "du Château", "des Acacias", "de Verdun", "Émile Zola",
    "des Roses", "du Maréchal Foch", "de la Liberté", "des Peupliers", "du 8 Mai 1945", "des Vignes",
    "Anatole France", "Georges Clemenceau", "de la Fontaine", "des Prés",
)

# Second address lines, as lab software records them; {n} and {letter} are filled in.
ADDRESS_COMPLEMENTS: tuple[str, ...] = (
    "Bât. {letter}", "Appt {n}", "Bât. {letter}, appt {n}", "Escalier {letter}", "Résidence les {trees}",
    "Apt {n}", "{n}e étage", "Chez M. et Mme {name}", "Lieu-dit les {trees}",
)
TREES: tuple[str, ...] = ("Tilleuls", "Chênes", "Érables", "Platanes", "Pins", "Cèdres", "Marronniers", "Saules")

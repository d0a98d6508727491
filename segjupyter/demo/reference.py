"""Fixed reference data of the demo shop: calendar anchor, sizes, cities, stores, catalogue
vocabulary, offer codes and the shape of a shopping week.

Everything here is constant; randomness lives in the generator modules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

#: The demo's "now": data ends here, and ``build()`` sets it as the workspace's ``as_of``.
REFERENCE_DATE = dt.datetime(2026, 6, 30, 23, 59)
#: First day of data: three years before the reference date.
START_DATE = dt.datetime(2023, 7, 1)
#: The app channel opens on this day (no app orders before it).
APP_LAUNCH = dt.date(2024, 3, 1)


@dataclass(frozen=True)
class Size:
    customers: int
    orders: int
    products: int


SIZES: dict[str, Size] = {
    "S": Size(10_000, 100_000, 500),
    "M": Size(100_000, 1_000_000, 1_000),
    "L": Size(1_000_000, 10_000_000, 2_000),
}

SPAIN, PORTUGAL, FRANCE = "Spain", "Portugal", "France"

# city -> (country, share of customers, postal code pattern, stores: list of store names)
# Postal patterns: "28###" = prefix + random digits; "1###-###" for Portugal.
CITIES: dict[str, tuple[str, float, str, tuple[str, ...]]] = {
    "Madrid": (SPAIN, 0.20, "280##", ("Madrid Gran Vía", "Madrid Salamanca", "Madrid Chamberí",
                                      "Madrid La Vaguada")),
    "Barcelona": (SPAIN, 0.16, "080##", ("Barcelona Passeig de Gràcia", "Barcelona Gràcia",
                                         "Barcelona Diagonal Mar")),
    "Valencia": (SPAIN, 0.065, "460##", ("Valencia Ruzafa", "Valencia Colón")),
    "Sevilla": (SPAIN, 0.055, "410##", ("Sevilla Sierpes", "Sevilla Nervión")),
    "Bilbao": (SPAIN, 0.035, "480##", ("Bilbao Abando",)),
    "Zaragoza": (SPAIN, 0.03, "500##", ("Zaragoza Independencia",)),
    "Málaga": (SPAIN, 0.035, "290##", ("Málaga Larios",)),
    "Granada": (SPAIN, 0.02, "180##", ("Granada Centro",)),
    "Lisboa": (PORTUGAL, 0.06, "1###-###", ("Lisboa Chiado", "Lisboa Amoreiras")),
    "Porto": (PORTUGAL, 0.035, "4###-###", ("Porto Santa Catarina",)),
    "Coimbra": (PORTUGAL, 0.012, "30##-###", ("Coimbra Baixa",)),
    "Paris": (FRANCE, 0.06, "750##", ("Paris Marais", "Paris Saint-Germain")),
    "Lyon": (FRANCE, 0.025, "6900#", ("Lyon Presqu'île",)),
    "Marseille": (FRANCE, 0.02, "130##", ("Marseille Vieux-Port",)),
    "Bordeaux": (FRANCE, 0.018, "330##", ("Bordeaux Sainte-Catherine",)),
    "Toulouse": (FRANCE, 0.018, "310##", ("Toulouse Capitole",)),
    # cities without a store: their customers mostly buy online
    "Valladolid": (SPAIN, 0.016, "470##", ()),
    "Murcia": (SPAIN, 0.016, "300##", ()),
    "A Coruña": (SPAIN, 0.012, "150##", ()),
    "Salamanca": (SPAIN, 0.01, "370##", ()),
    "Braga": (PORTUGAL, 0.01, "47##-###", ()),
    "Faro": (PORTUGAL, 0.008, "80##-###", ()),
    "Lille": (FRANCE, 0.01, "590##", ()),
    "Nantes": (FRANCE, 0.01, "440##", ()),
    "Nice": (FRANCE, 0.01, "060##", ()),
}
#: Online channels, stored as the last two stores.
ONLINE_STORES = (("Online shop", "web"), ("Mobile app", "app"))

FIRST_NAMES = {  # country -> (female, male)
    SPAIN: (("Lucía", "María", "Carmen", "Sofía", "Paula", "Laura", "Marta", "Elena", "Ana",
             "Julia", "Alba", "Irene", "Claudia", "Sara", "Cristina", "Nuria", "Pilar", "Isabel",
             "Andrea", "Raquel"),
            ("Hugo", "Martín", "Pablo", "Alejandro", "Daniel", "Javier", "Carlos", "David",
             "Jorge", "Manuel", "Sergio", "Adrián", "Álvaro", "Diego", "Mario", "Antonio",
             "Luis", "Iker", "Marc", "Raúl")),
    PORTUGAL: (("Maria", "Beatriz", "Inês", "Mariana", "Ana", "Leonor", "Matilde", "Carolina",
                "Joana", "Rita", "Sofia", "Catarina"),
               ("João", "Rodrigo", "Francisco", "Martim", "Santiago", "Tomás", "Duarte",
                "Pedro", "Miguel", "Gonçalo", "Rui", "Tiago")),
    FRANCE: (("Camille", "Léa", "Manon", "Chloé", "Emma", "Inès", "Louise", "Julie", "Sarah",
              "Claire", "Juliette", "Anaïs"),
             ("Lucas", "Hugo", "Louis", "Gabriel", "Arthur", "Jules", "Thomas", "Nicolas",
              "Antoine", "Julien", "Maxime", "Théo")),
}
LAST_NAMES = {
    SPAIN: ("García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez",
            "Pérez", "Gómez", "Martín", "Jiménez", "Ruiz", "Hernández", "Díaz", "Moreno",
            "Muñoz", "Álvarez", "Romero", "Navarro", "Torres", "Domínguez", "Vázquez", "Ramos",
            "Gil", "Serrano", "Molina", "Ortega", "Castro", "Iglesias", "Etxeberria"),
    PORTUGAL: ("Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues",
               "Martins", "Jesus", "Sousa", "Fernandes", "Gonçalves", "Gomes", "Lopes",
               "Marques", "Almeida", "Ribeiro", "Pinto"),
    FRANCE: ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
             "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "David",
             "Bertrand", "Roux"),
}
PHONE_PREFIX = {SPAIN: ("+34 6", 8), PORTUGAL: ("+351 9", 8), FRANCE: ("+33 6", 8)}
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")

# category -> (share of products, median price in EUR, items, sizes with price multiplier)
CATEGORIES: dict[str, tuple[float, float, tuple[str, ...], tuple[tuple[str, float], ...]]] = {
    "Tea": (0.24, 7.5, ("Sencha", "Earl Grey", "English Breakfast", "Darjeeling", "Assam",
                        "Matcha", "Jasmine Pearls", "Oolong", "Pu-erh", "White Peony", "Chai",
                        "Gunpowder", "Lapsang Souchong", "Genmaicha"),
            (("50 g", 0.7), ("100 g", 1.0), ("250 g", 2.1))),
    "Coffee": (0.20, 10.0, ("Colombia Supremo", "Ethiopia Yirgacheffe", "Brazil Santos",
                            "Espresso Blend", "Decaf Blend", "Guatemala Antigua", "Kenya AA",
                            "Sumatra Mandheling", "Costa Rica Tarrazú", "House Blend"),
               (("250 g", 1.0), ("500 g", 1.8), ("1 kg", 3.3))),
    "Chocolate": (0.15, 4.0, ("Dark 70%", "Dark 85%", "Milk", "Hazelnut Milk", "Orange Dark",
                              "Sea Salt Caramel", "White Vanilla", "Almond Dark", "Pralines",
                              "Hot Chocolate"),
                  (("100 g", 1.0), ("200 g", 1.8))),
    "Biscuits": (0.12, 3.5, ("Butter Biscuits", "Almond Cantuccini", "Oat Cookies",
                             "Chocolate Chip Cookies", "Ginger Snaps", "Shortbread", "Speculoos",
                             "Polvorones", "Lemon Sablés", "Hazelnut Wafers"),
                 (("150 g", 1.0), ("300 g", 1.8))),
    "Infusions": (0.10, 4.5, ("Chamomile", "Peppermint", "Rooibos Vanilla", "Hibiscus Berry",
                              "Lemon Verbena", "Ginger Lemon", "Linden", "Fennel Anise",
                              "Rooibos Chai", "Turmeric Glow"),
                  (("20 bags", 1.0), ("100 g", 1.5))),
    "Accessories": (0.11, 22.0, ("Teapot", "Tea Infuser", "Glass Mug", "Ceramic Cup",
                                 "French Press", "Pour-over Dripper", "Hand Grinder",
                                 "Milk Frother", "Tea Caddy", "Moka Pot", "Travel Mug", "Kettle"),
                    (("", 1.0),)),
    "Gifts": (0.08, 28.0, ("Gift Box", "Tasting Set", "Advent Calendar", "Hamper",
                           "Discovery Box", "Tea & Biscuits Box"),
              (("Classic", 1.0), ("Deluxe", 1.9))),
}
# brand -> categories it makes (its affinity); a product's brand is drawn among the brands
# making its category.
BRANDS: dict[str, tuple[str, ...]] = {
    "Acme": ("Tea", "Coffee", "Gifts", "Accessories"),
    "Bosque": ("Tea", "Infusions"),
    "Cacao Real": ("Chocolate", "Gifts"),
    "Dulcería": ("Biscuits", "Chocolate"),
    "Kettle & Co": ("Accessories",),
    "Tostadero": ("Coffee",),
    "Maison Léa": ("Biscuits", "Chocolate", "Gifts"),
    "Verde": ("Tea", "Infusions"),
    "Atlas": ("Accessories", "Gifts"),
    "Nómada": ("Coffee", "Tea"),
    "Aurora": ("Tea", "Infusions", "Biscuits"),
    "Porto Doce": ("Biscuits", "Chocolate", "Coffee"),
}
TAGS = ("organic", "vegan", "gift", "limited", "new", "bestseller", "fair-trade", "sugar-free")

# code -> percent off every line of the order
OFFER_CODES = {"WELCOME": 15, "SUMMER10": 10, "SPRING10": 10, "BF25": 25, "XMAS": 10,
               "APP5": 5, "FRIENDS20": 20}

# The shape of a week and a day, per channel: relative order rates.
MONTH_FACTOR = (1.05, 0.80, 0.85, 0.90, 0.90, 0.95, 1.20, 0.85, 0.90, 0.95, 1.15, 1.60)
WEEKDAY_FACTOR = {  # Monday .. Sunday
    "store": (0.80, 0.85, 0.90, 1.00, 1.25, 1.75, 0.45),
    "online": (1.10, 1.05, 1.00, 1.00, 0.90, 0.85, 1.10),
}
HOUR_WEIGHTS = {  # 0h .. 23h
    "store": (0, 0, 0, 0, 0, 0, 0, 0, 0, 0.2, 1.0, 1.6, 2.2, 2.0, 1.2, 0.9, 1.2, 2.0, 3.0, 3.4,
              3.0, 1.2, 0, 0),
    "web": (0.5, 0.3, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3, 1.4, 1.3, 1.2, 1.1,
            1.2, 1.4, 1.7, 2.0, 2.4, 2.7, 2.5, 1.4),
    "app": (0.6, 0.3, 0.15, 0.1, 0.1, 0.2, 0.5, 1.1, 1.4, 1.1, 1.0, 1.0, 1.3, 1.4, 1.2, 1.0, 1.0,
            1.2, 1.5, 1.8, 2.2, 2.6, 2.4, 1.3),
}
CHANNELS = ("store", "web", "app")

"""Word lists for realistic German demo data: umlauts, ß, ``&`` in names, GmbH & Co. KG, German addresses."""

from __future__ import annotations

# Field-service businesses (the tenants of the field-service source): name, street, zip, city, tax number.
FIELDSERVICE_COMPANIES = (
    ("Kammerjäger Nord GmbH & Co. KG", "Große Elbstraße 145", "22767", "Hamburg", "27/614/03517"),
    ("Schädlingsbekämpfung Müller & Söhne GmbH", "Mülheimer Straße 12", "51063", "Köln", "217/5712/1038"),
    ("Hygiene-Service Weiß e.K.", "Fürther Straße 212", "90429", "Nürnberg", "241/127/40953"),
    ("Klima- & Kältetechnik Groß GmbH", "Königstraße 1b", "70173", "Stuttgart", "99015/31842"),
    ("Brandschutz Böhm OHG", "Käthe-Kollwitz-Straße 60", "04109", "Leipzig", "231/112/07788"),
    ("Gebäudeservice Özdemir & Partner GmbH", "Hößlinstraße 3", "44137", "Dortmund", "314/5790/2214"),
)

# Business customers of the bank (the tenants of the bank source).
BANK_CUSTOMERS = (
    "Zimmerei Köhler GmbH",
    "Studio Weiß & Groß GbR",
    "Bäckerei Jäger GmbH & Co. KG",
    "Fußpflege Schütz e.K.",
    "Möbelwerkstatt Bräuer & Söhne OHG",
    "Café Süß UG (haftungsbeschränkt)",
)

OWN_BANK = "Beispielbank AG"
OTHER_BANKS = ("Sparkasse KölnBonn", "Volksbank Mittelhessen eG", "Commerzbank AG", "Deutsche Kreditbank AG")

SURNAMES = (
    "Müller", "Schäfer", "Weiß", "Groß", "Schröder", "Köhler", "Jäger", "Krüger", "Günther", "Fuß", "Öztürk",
    "Schütz", "Böhm", "Lüdtke", "Süß", "Möller", "Bräuer", "Wöhrle", "Meier", "Schmidt", "Fischer", "Wagner",
    "Becker", "Hoffmann", "Schulz", "Koch", "Richter", "Klein", "Hößl", "Dürr",
)
FIRST_NAMES_FEMALE = ("Käthe", "Özlem", "Anna", "Lena", "Mia", "Ute", "Birgit", "Heike", "Zoë", "Sabine", "Dörte",
                      "Marie-Luise", "Jana", "Sünje")
FIRST_NAMES_MALE = ("Jürgen", "Sören", "Björn", "Jörg", "Günter", "Lukas", "Jonas", "Ralf", "Maximilian", "André",
                    "René", "Ömer", "Hans-Jürgen", "Mustafa")

BUSINESS_PREFIXES = (
    "Bäckerei", "Metzgerei", "Gasthof", "Hotel", "Café", "Brauerei", "Autohaus", "Pflegeheim", "Kita",
    "Landgasthof", "Weinhandlung", "Fleischerei", "Pizzeria", "Reformhaus", "Getränkemarkt", "Mühle",
)
LEGAL_FORMS = ("", " GmbH", " GmbH & Co. KG", " & Söhne", " e.K.", " KG", " OHG", " AG", " & Partner mbB")

STREETS = (
    "Hauptstraße", "Bahnhofstraße", "Schloßallee", "Königsweg", "Am Mühlbach", "Lindenstraße", "Gartenweg",
    "Kirchplatz", "Mühlenstraße", "Friedrich-Ebert-Straße", "Goethestraße", "Schillerstraße", "Am Rößleberg",
    "Große Gasse", "Römerstraße", "Über den Höfen", "Straße des 17. Juni",
)

# (city, country code, zip prefix or full zip pattern length)
CITIES_DE = (
    ("München", "80"), ("Köln", "50"), ("Düsseldorf", "40"), ("Lübeck", "23"), ("Würzburg", "97"),
    ("Görlitz", "02"), ("Fürth", "90"), ("Göttingen", "37"), ("Tübingen", "72"), ("Osnabrück", "49"),
    ("Saarbrücken", "66"), ("Mülheim an der Ruhr", "45"), ("Bad Tölz", "83"), ("Frankfurt am Main", "60"),
    ("Berlin", "10"), ("Dresden", "01"), ("Münster", "48"),
)
CITIES_ABROAD = (("Wien", "AT", "1010"), ("Salzburg", "AT", "5020"), ("Zürich", "CH", "8001"),
                 ("Basel", "CH", "4051"))

EMAIL_DOMAINS = ("t-online.de", "gmx.de", "web.de", "posteo.de", "mailbox.org")

# Line catalogue: name, unit, price range (EUR), reduced VAT rate?, quantity kind
ITEMS = (
    ("Anfahrtspauschale", "Pauschal", (25.0, 60.0), False, "one"),
    ("Arbeitszeit Techniker", "Stunde", (55.0, 95.0), False, "half"),
    ("Schädlingsmonitoring Köderstation", "Stück", (8.0, 25.0), False, "count"),
    ("Rattenköder Brodifacoum 200 g", "Packung", (12.0, 30.0), False, "count"),
    ("Insektizid-Sprühbehandlung", "m²", (1.5, 4.5), False, "area"),
    ("Wartung Klimaanlage", "Pauschal", (120.0, 350.0), False, "one"),
    ("Kältemittel R32 nachfüllen", "kg", (45.0, 90.0), False, "quarter"),
    ("Fahrtkosten", "km", (0.3, 0.6), False, "km"),
    ("Fachbroschüre Hygiene (Buch)", "Stück", (9.9, 19.9), True, "count"),
    ("Taubenabwehr Spikes Edelstahl", "lfm", (12.0, 28.0), False, "half"),
    ("Desinfektion nach HACCP", "Pauschal", (90.0, 240.0), False, "one"),
    ("Dokumentation & Prüfbericht", "Pauschal", (30.0, 60.0), False, "one"),
)
ITEM_DESCRIPTIONS = (None, None, "Inkl. Entsorgung der Rückstände.", "Gemäß Prüfprotokoll.",
                     "Einsatz außerhalb der Geschäftszeiten.", "Material & Arbeitszeit.")
TEXT_LINES = (
    ("Hinweis: Köderstationen bitte nicht verstellen.", "Bei Fragen erreichen Sie uns werktags von 8 bis 17 Uhr."),
    ("Leistung gemäß Wartungsvertrag", None),
    ("Nächster Termin nach Vereinbarung", "Wir melden uns rechtzeitig bei Ihnen."),
)

TITLES = ("Rechnung", "Rechnung", "Rechnung", "Rechnung Wartungsvertrag", "Rechnung Einsatz", "Abrechnung")
INTRODUCTIONS = (
    "Vielen Dank für Ihren Auftrag. Wir berechnen Ihnen folgende Leistungen:",
    "Sehr geehrte Damen und Herren,\nfür die erbrachten Leistungen erlauben wir uns, wie folgt zu berechnen:",
    None,
)
REMARKS = (
    "Zahlbar innerhalb von 14 Tagen ohne Abzug.",
    "Bitte überweisen Sie den Betrag unter Angabe der Rechnungsnummer.",
    "Vielen Dank für Ihr Vertrauen – Ihr Serviceteam.",
    None,
)
WORK_ORDER_DESCRIPTIONS = ("Befallskontrolle Lager", "Wartung Klimaanlage Büro", "Notfalleinsatz Wespennest",
                           "Taubenabwehr Innenhof", "Desinfektion Küche")
CONTRACT_DESCRIPTIONS = ("Monatliches Schädlingsmonitoring", "Wartungsvertrag Kälteanlagen",
                         "Hygieneservice nach HACCP")

CARD_MERCHANTS = ("REWE Markt GmbH", "Shell Station 4711", "Amazon EU S.à r.l.", "Bäckerei Müller",
                  "Deutsche Bahn AG", "Würth Hornbach", "OBI Markt Köln", "Lufthansa", "Café Größenwahn",
                  "Tankstelle Jäger & Sohn")
DIRECT_DEBITS = (("Telekom Deutschland GmbH", "Mobilfunk Rechnung"), ("AOK Rheinland", "Beitrag"),
                 ("Allianz Versicherungs-AG", "Betriebshaftpflicht"), ("Stadtwerke München", "Abschlag Strom"))
TRANSFER_PARTNERS = ("Müller & Schmidt GmbH & Co. KG", "Grundstücksgesellschaft Weiß GbR", "Jürgen Köhler",
                     "Özlem Öztürk", "Steuerberatung Böhm & Partner mbB", "Autohaus Groß GmbH")
TRANSFER_PURPOSES_IN = ("RE-2025-{n:05d} Schädlingsbekämpfung", "Rechnung {n} vielen Dank", "Anzahlung Auftrag {n}")
TRANSFER_PURPOSES_OUT = ("Miete Büro {month}", "Lieferantenrechnung {n}", "Honorar {month}", "Lohn {month}")


def transliterate(text: str) -> str:
    """ASCII for e-mail local parts and domains: ä -> ae, ß -> ss, drops other marks."""
    for source, target in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("Ä", "Ae"), ("Ö", "Oe"), ("Ü", "Ue"),
                           ("ß", "ss"), ("ë", "e"), ("é", "e"), ("à", "a")):
        text = text.replace(source, target)
    return "".join(ch for ch in text if ch.isascii())

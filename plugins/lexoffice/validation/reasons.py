"""The reason-code catalogue: every way a document can fail local validation, in one place.

Codes are stable (reports, the outbox and people's filters depend on them); add new ones, never rename.
Each entry names the offending field and says, in English and German, what a person should do. The
catalogue order is also the order in which a document's reasons are listed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from pandas import NaT

from lexoffice.documents import Reason

BERLIN = ZoneInfo("Europe/Berlin")


@dataclass(frozen=True)
class Label:
    """A field or value name that a message shows in the reader's language (see ``_LABELS``)."""

    key: str
    position: int | None = None


@dataclass(frozen=True)
class Labels:
    """Several labels, shown as a comma-separated list."""

    keys: tuple[str, ...]


_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "street": "street", "zip": "postcode", "city": "city", "country_code": "country",
        "title": "title", "introduction": "introduction", "remark": "remark",
        "customer.company_name": "customer's company name", "customer.salutation": "customer's salutation",
        "customer.first_name": "customer's first name", "customer.last_name": "customer's last name",
        "customer.street": "customer's street", "customer.zip": "customer's postcode",
        "customer.city": "customer's city", "customer.email": "customer's e-mail address",
        "number": "draft number", "work_order_number": "work order number", "contract_number": "contract number",
        "line.name": "name of line {position}", "line.description": "description of line {position}",
        "line.unit_name": "unit of line {position}",
        "purpose": "purpose", "counterparty_name": "counterparty name",
        "booking_date": "booking date", "value_date": "value date",
        "completed_at": "completion time", "updated_at": "last change", "created_at": "creation time",
        "net": "net", "gross": "gross",
        "pending": "pending", "completed": "completed without a completion time", "declined": "declined",
        "reversed": "reversed",
        "transfer": "transfer", "direct_debit": "direct debit",
    },
    "de": {
        "street": "Straße", "zip": "PLZ", "city": "Ort", "country_code": "Land",
        "title": "Titel", "introduction": "Einleitung", "remark": "Bemerkung",
        "customer.company_name": "Firmenname des Kunden", "customer.salutation": "Anrede des Kunden",
        "customer.first_name": "Vorname des Kunden", "customer.last_name": "Nachname des Kunden",
        "customer.street": "Straße des Kunden", "customer.zip": "PLZ des Kunden",
        "customer.city": "Ort des Kunden", "customer.email": "E-Mail-Adresse des Kunden",
        "number": "Entwurfsnummer", "work_order_number": "Auftragsnummer", "contract_number": "Vertragsnummer",
        "line.name": "Bezeichnung von Position {position}",
        "line.description": "Beschreibung von Position {position}",
        "line.unit_name": "Einheit von Position {position}",
        "purpose": "Verwendungszweck", "counterparty_name": "Name des Zahlungspartners",
        "booking_date": "Buchungsdatum", "value_date": "Valutadatum",
        "completed_at": "Abschlusszeit", "updated_at": "letzte Änderung", "created_at": "Erstellungszeit",
        "net": "netto", "gross": "brutto",
        "pending": "ausstehend", "completed": "abgeschlossen, aber ohne Abschlusszeit", "declined": "abgelehnt",
        "reversed": "storniert",
        "transfer": "Überweisung", "direct_debit": "Lastschrift",
    },
}

_EMPTY = {"en": "(empty)", "de": "(leer)"}
#: Longest quoted source value: a 10 MB value must not be printed into a reason (twice); the start is enough to
#: find it, the length says how much more there is.
MAX_QUOTED = 80
_CUT = {"en": "\u2026 ({length} characters)", "de": "\u2026 ({length} Zeichen)"}
_QUOTES = {"en": ("\u201c", "\u201d"), "de": ("\u201e", "\u201c")}


def _label(key: str, position: int | None, lang: str) -> str:
    text = _LABELS[lang].get(key, key)
    return text.format(position=position) if position is not None else text


def _number(value: float, lang: str) -> str:
    text = str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return text.replace(".", ",") if lang == "de" else text


def format_value(value: Any, lang: str) -> str:
    """Render one message parameter for ``lang`` ('en' or 'de')."""
    if isinstance(value, Label):
        return _label(value.key, value.position, lang)
    if isinstance(value, Labels):
        return ", ".join(_label(k, None, lang) for k in value.keys)
    if value is None or value is NaT or (isinstance(value, numbers.Real) and math.isnan(value)):
        return _EMPTY[lang]
    if isinstance(value, (tuple, list)):
        return ", ".join(format_value(v, lang) for v in value)
    if isinstance(value, datetime):
        if hasattr(value, "to_pydatetime"):  # pandas.Timestamp: its own time-zone conversion is slow
            value = value.to_pydatetime()
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return aware.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M" if lang == "en" else "%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d" if lang == "en" else "%d.%m.%Y")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _number(float(value), lang)
    opening, closing = _QUOTES[lang]
    text = str(value)
    if len(text) > MAX_QUOTED:
        text = text[:MAX_QUOTED] + _CUT[lang].format(length=len(text))
    return f"{opening}{text}{closing}"



@dataclass(frozen=True)
class ReasonSpec:
    """One catalogue entry; calling it renders a ``Reason`` with concrete values."""

    code: str
    field: str
    en: str
    de: str

    def __call__(self, field: str | None = None, **params: Any) -> Reason:
        return Reason(
            code=self.code,
            field=field or self.field,
            message_en=self.en.format(**{k: format_value(v, "en") for k, v in params.items()}),
            message_de=self.de.format(**{k: format_value(v, "de") for k, v in params.items()}),
        )


# --- both streams ---------------------------------------------------------------------------------------

SOURCE_ID_TOO_LONG = ReasonSpec(
    "SOURCE_ID_TOO_LONG", "id",
    "The id {value} in the source has {length} characters; at most {limit} can be stored and sent. Shorten the "
    "id in the source system (or ask its vendor to).",
    "Die Kennung {value} im Quellsystem hat {length} Zeichen; höchstens {limit} können gespeichert und übertragen "
    "werden. Bitte kürzen Sie die Kennung im Quellsystem (oder lassen Sie sie vom Hersteller kürzen).",
)
SOURCE_TIMESTAMP_INVALID = ReasonSpec(
    "SOURCE_TIMESTAMP_INVALID", "updated_at",
    "The time {which} in the source, {value}, is not a valid time (expected UTC text 'YYYY-MM-DD HH:MM:SS'). "
    "Correct it in the source.",
    "Die Angabe \u201e{which}\u201c im Quellsystem, {value}, ist keine gültige Zeit (erwartet: UTC-Text "
    "\u201eJJJJ-MM-TT HH:MM:SS\u201c). Bitte korrigieren Sie ihn im Quellsystem.",
)

# --- invoice drafts -------------------------------------------------------------------------------------

COMPANY_NAME_MISSING = ReasonSpec(
    "COMPANY_NAME_MISSING", "company.name",
    "Your company's name is missing in the master data. Enter it in the company settings before sending invoices.",
    "Der Name Ihres Unternehmens fehlt in den Stammdaten. Bitte tragen Sie ihn in den Unternehmenseinstellungen "
    "ein, bevor Sie Rechnungen senden.",
)
COMPANY_ADDRESS_INCOMPLETE = ReasonSpec(
    "COMPANY_ADDRESS_INCOMPLETE", "company.address",
    "Your company's address is incomplete (missing: {missing}). Complete street, postcode, city and country in "
    "the company master data.",
    "Die Anschrift Ihres Unternehmens ist unvollständig (fehlt: {missing}). Bitte ergänzen Sie Straße, PLZ, Ort "
    "und Land in den Unternehmensstammdaten.",
)
COMPANY_TAX_ID_MISSING = ReasonSpec(
    "COMPANY_TAX_ID_MISSING", "company.tax_number",
    "Your company has neither a tax number nor a VAT ID in the master data. Enter at least one of them.",
    "Für Ihr Unternehmen ist weder eine Steuernummer noch eine USt-IdNr. hinterlegt. Bitte tragen Sie mindestens "
    "eine davon ein.",
)
COMPANY_VAT_ID_INVALID = ReasonSpec(
    "COMPANY_VAT_ID_INVALID", "company.vat_id",
    "Your company's VAT ID {value} is not valid. It starts with the country code, e.g. DE123456789.",
    "Die USt-IdNr. Ihres Unternehmens {value} ist ungültig. Sie beginnt mit dem Länderkürzel, z. B. DE123456789.",
)
ACCOUNTING_NOT_LICENSED = ReasonSpec(
    "ACCOUNTING_NOT_LICENSED", "company.accounting_licensed",
    "Your licence does not include the accounting feature, which sending invoices to Lexware Office requires. "
    "Ask your administrator to enable it.",
    "Ihre Lizenz enthält die Funktion \u201eRechnungswesen\u201c nicht, die für die Übermittlung an Lexware Office "
    "nötig ist. Bitte lassen Sie sie freischalten.",
)
ACCOUNTING_SOFTWARE_NOT_LEXOFFICE = ReasonSpec(
    "ACCOUNTING_SOFTWARE_NOT_LEXOFFICE", "company.accounting_software",
    "The accounting software chosen in the invoicing settings is {value}, not Lexware Office. Select LexOffice "
    "under Settings \u2192 Invoicing and save.",
    "In den Einstellungen zur Rechnungsstellung ist als Buchhaltungssoftware {value} gewählt, nicht Lexware "
    "Office. Bitte wählen Sie unter Einstellungen \u2192 Rechnungsstellung \u201eLexOffice\u201c und speichern Sie.",
)
CUSTOMER_MISSING = ReasonSpec(
    "CUSTOMER_MISSING", "customer_id",
    "The draft has no customer, or its customer does not belong to your company. Assign a customer to the draft.",
    "Dem Entwurf ist kein Kunde zugeordnet, oder der Kunde gehört nicht zu Ihrem Unternehmen. Bitte ordnen Sie "
    "einen Kunden zu.",
)
CUSTOMER_NAME_MISSING = ReasonSpec(
    "CUSTOMER_NAME_MISSING", "customer.company_name",
    "The customer has no name (the company name for a company, the last name for a person). Complete the "
    "customer's master data.",
    "Der Kunde hat keinen Namen (Firmenname bei Firmen, Nachname bei Personen). Bitte ergänzen Sie die "
    "Kundenstammdaten.",
)
CUSTOMER_SALUTATION_TOO_LONG = ReasonSpec(
    "CUSTOMER_SALUTATION_TOO_LONG", "customer.salutation",
    "The customer's salutation has {length} characters; Lexware Office accepts at most 25. Shorten it.",
    "Die Anrede des Kunden hat {length} Zeichen; Lexware Office erlaubt höchstens 25. Bitte kürzen Sie sie.",
)
CUSTOMER_ADDRESS_INCOMPLETE = ReasonSpec(
    "CUSTOMER_ADDRESS_INCOMPLETE", "customer.address",
    "The customer's billing address is incomplete (missing: {missing}). Complete street, postcode and city.",
    "Die Rechnungsanschrift des Kunden ist unvollständig (fehlt: {missing}). Bitte ergänzen Sie Straße, PLZ "
    "und Ort.",
)
CUSTOMER_COUNTRY_INVALID = ReasonSpec(
    "CUSTOMER_COUNTRY_INVALID", "customer.country_code",
    "The customer's country code {value} is not a two-letter ISO 3166 code. Enter one such as DE, AT or CH.",
    "Das Länderkürzel des Kunden {value} ist kein zweistelliger ISO-3166-Code. Bitte tragen Sie z. B. DE, AT "
    "oder CH ein.",
)
CUSTOMER_EMAIL_INVALID = ReasonSpec(
    "CUSTOMER_EMAIL_INVALID", "customer.email",
    "The customer's e-mail address {value} is not valid. Correct it or leave it empty.",
    "Die E-Mail-Adresse des Kunden {value} ist ungültig. Bitte korrigieren Sie sie oder lassen Sie das Feld leer.",
)
CUSTOMER_VAT_ID_INVALID = ReasonSpec(
    "CUSTOMER_VAT_ID_INVALID", "customer.vat_id",
    "The customer's VAT ID {value} is not valid. It starts with the country code, e.g. DE123456789; correct it "
    "or leave it empty.",
    "Die USt-IdNr. des Kunden {value} ist ungültig. Sie beginnt mit dem Länderkürzel, z. B. DE123456789; bitte "
    "korrigieren Sie sie oder lassen Sie das Feld leer.",
)
VOUCHER_DATE_MISSING = ReasonSpec(
    "VOUCHER_DATE_MISSING", "voucher_date",
    "The draft has no invoice date. Set the invoice date.",
    "Der Entwurf hat kein Rechnungsdatum. Bitte setzen Sie das Rechnungsdatum.",
)
VOUCHER_DATE_INVALID = ReasonSpec(
    "VOUCHER_DATE_INVALID", "voucher_date",
    "The invoice date {value} is not a valid date (YYYY-MM-DD). Correct it.",
    "Das Rechnungsdatum {value} ist kein gültiges Datum (JJJJ-MM-TT). Bitte korrigieren Sie es.",
)
SERVICE_DATE_INVALID = ReasonSpec(
    "SERVICE_DATE_INVALID", "service_date",
    "The service date {value} is not a valid date (YYYY-MM-DD). Correct it.",
    "Das Leistungsdatum {value} ist kein gültiges Datum (JJJJ-MM-TT). Bitte korrigieren Sie es.",
)
SERVICE_PERIOD_INCOMPLETE = ReasonSpec(
    "SERVICE_PERIOD_INCOMPLETE", "service_period_end",
    "The service period needs both a start and an end date. Enter the missing one, or use a single service date.",
    "Der Leistungszeitraum braucht ein Start- und ein Enddatum. Bitte ergänzen Sie das fehlende oder verwenden "
    "Sie ein einzelnes Leistungsdatum.",
)
SERVICE_PERIOD_END_BEFORE_START = ReasonSpec(
    "SERVICE_PERIOD_END_BEFORE_START", "service_period_end",
    "The service period ends ({end}) before it starts ({start}). Correct the dates.",
    "Der Leistungszeitraum endet ({end}) vor seinem Beginn ({start}). Bitte korrigieren Sie die Daten.",
)
CURRENCY_NOT_EUR = ReasonSpec(
    "CURRENCY_NOT_EUR", "currency",
    "The draft's currency is {value}; Lexware Office invoices support only EUR. Issue the invoice in EUR.",
    "Die Währung des Entwurfs ist {value}; Lexware Office unterstützt bei Rechnungen nur EUR. Bitte stellen Sie "
    "die Rechnung in EUR aus.",
)
TITLE_TOO_LONG = ReasonSpec(
    "TITLE_TOO_LONG", "title",
    "The title has {length} characters; Lexware Office accepts at most 25. Shorten the title.",
    "Der Titel hat {length} Zeichen; Lexware Office erlaubt höchstens 25. Bitte kürzen Sie den Titel.",
)
INTRODUCTION_TOO_LONG = ReasonSpec(
    "INTRODUCTION_TOO_LONG", "introduction",
    "The introduction has {length} characters; Lexware Office accepts at most 2000. Shorten it.",
    "Die Einleitung hat {length} Zeichen; Lexware Office erlaubt höchstens 2000. Bitte kürzen Sie sie.",
)
REMARK_TOO_LONG = ReasonSpec(
    "REMARK_TOO_LONG", "remark",
    "The closing remark has {length} characters; with the reference line we append, at most {limit} fit into "
    "Lexware Office's 2000. Shorten the remark.",
    "Die Schlussbemerkung hat {length} Zeichen; mit der angehängten Referenzzeile passen höchstens {limit} in "
    "die 2000 Zeichen von Lexware Office. Bitte kürzen Sie die Bemerkung.",
)
REFERENCE_LINE_TOO_LONG = ReasonSpec(
    "REFERENCE_LINE_TOO_LONG", "number",
    "The reference line built from the draft number and the work order or contract number has {length} "
    "characters; Lexware Office's remark takes at most 2000. Shorten these numbers.",
    "Die Referenzzeile aus Entwurfsnummer und Auftrags- bzw. Vertragsnummer hat {length} Zeichen; die Bemerkung "
    "in Lexware Office fasst höchstens 2000. Bitte kürzen Sie diese Nummern.",
)
CUSTOMER_FIELD_TOO_LONG = ReasonSpec(
    "CUSTOMER_FIELD_TOO_LONG", "customer.street",
    "The {which} has {length} characters; at most {limit} are sent to Lexware Office. Shorten it.",
    "Das Feld {which} hat {length} Zeichen; höchstens {limit} werden an Lexware Office übertragen. Bitte kürzen "
    "Sie es.",
)
TEXT_CONTROL_CHARACTERS = ReasonSpec(
    "TEXT_CONTROL_CHARACTERS", "title",
    "The {where} contains invisible control characters (often pasted from another program). Retype that text.",
    "Das Feld {where} enthält unsichtbare Steuerzeichen (oft aus einem anderen Programm eingefügt). Bitte geben "
    "Sie den Text neu ein.",
)
NO_LINES = ReasonSpec(
    "NO_LINES", "lines",
    "The draft has no lines. Add at least one line.",
    "Der Entwurf hat keine Positionen. Bitte fügen Sie mindestens eine Position hinzu.",
)
TOO_MANY_LINES = ReasonSpec(
    "TOO_MANY_LINES", "lines",
    "The draft has {count} lines; Lexware Office accepts at most 300. Split it into several invoices.",
    "Der Entwurf hat {count} Positionen; Lexware Office erlaubt höchstens 300. Bitte teilen Sie ihn auf mehrere "
    "Rechnungen auf.",
)
LINE_NAME_MISSING = ReasonSpec(
    "LINE_NAME_MISSING", "lines.name",
    "Line {position} has no name. Enter what the line is for.",
    "Position {position} hat keine Bezeichnung. Bitte tragen Sie eine ein.",
)
LINE_NAME_TOO_LONG = ReasonSpec(
    "LINE_NAME_TOO_LONG", "lines.name",
    "The name of line {position} has {length} characters; Lexware Office accepts at most 255. Shorten it or move "
    "details into the description.",
    "Die Bezeichnung von Position {position} hat {length} Zeichen; Lexware Office erlaubt höchstens 255. Bitte "
    "kürzen Sie sie oder verschieben Sie Details in die Beschreibung.",
)
LINE_DESCRIPTION_TOO_LONG = ReasonSpec(
    "LINE_DESCRIPTION_TOO_LONG", "lines.description",
    "The description of line {position} has {length} characters; Lexware Office accepts at most 2000. Shorten it.",
    "Die Beschreibung von Position {position} hat {length} Zeichen; Lexware Office erlaubt höchstens 2000. "
    "Bitte kürzen Sie sie.",
)
LINE_UNIT_MISSING = ReasonSpec(
    "LINE_UNIT_MISSING", "lines.unit_name",
    "Line {position} has no unit (such as Stück or Stunde). Enter a unit.",
    "Position {position} hat keine Einheit (z. B. Stück oder Stunde). Bitte tragen Sie eine ein.",
)
LINE_QUANTITY_OUT_OF_RANGE = ReasonSpec(
    "LINE_QUANTITY_OUT_OF_RANGE", "lines.quantity",
    "Line {position} has quantity {value}; it must be greater than 0 and less than 1,000,000.",
    "Position {position} hat die Menge {value}; sie muss größer als 0 und kleiner als 1.000.000 sein.",
)
LINE_QUANTITY_TOO_PRECISE = ReasonSpec(
    "LINE_QUANTITY_TOO_PRECISE", "lines.quantity",
    "Line {position} has quantity {value} with more than 4 decimal places; Lexware Office accepts at most 4. "
    "Round it.",
    "Position {position} hat die Menge {value} mit mehr als 4 Nachkommastellen; Lexware Office erlaubt höchstens "
    "4. Bitte runden Sie sie.",
)
LINE_PRICE_OUT_OF_RANGE = ReasonSpec(
    "LINE_PRICE_OUT_OF_RANGE", "lines.unit_price",
    "Line {position} has unit price {value}; it must be between 0 and 10,000,000 EUR. Issue refunds as a "
    "credit note.",
    "Position {position} hat den Einzelpreis {value}; er muss zwischen 0 und 10.000.000 EUR liegen. Erstattungen "
    "bitte als Gutschrift ausstellen.",
)
LINE_PRICE_TOO_PRECISE = ReasonSpec(
    "LINE_PRICE_TOO_PRECISE", "lines.unit_price",
    "Line {position} has unit price {value} with more than 4 decimal places; Lexware Office accepts at most 4. "
    "Round it.",
    "Position {position} hat den Einzelpreis {value} mit mehr als 4 Nachkommastellen; Lexware Office erlaubt "
    "höchstens 4. Bitte runden Sie ihn.",
)
LINE_PRICE_KIND_MISMATCH = ReasonSpec(
    "LINE_PRICE_KIND_MISMATCH", "lines.price_kind",
    "The price of line {position} is {price_kind}, but the invoice is {tax_type}. Lexware Office needs net "
    "prices on net invoices and gross prices on gross invoices; change the line or the invoice's tax type.",
    "Der Preis von Position {position} ist {price_kind}, die Rechnung ist aber {tax_type}. Lexware Office braucht "
    "Nettopreise auf Netto- und Bruttopreise auf Bruttorechnungen; bitte ändern Sie die Position oder die "
    "Besteuerungsart der Rechnung.",
)
LINE_TAX_RATE_INVALID = ReasonSpec(
    "LINE_TAX_RATE_INVALID", "lines.tax_rate",
    "Line {position} has tax rate {value} %, which is not valid on {date} (allowed: {allowed} %). Correct the "
    "tax rate or the invoice/service date.",
    "Position {position} hat den Steuersatz {value} %, der am {date} nicht gilt (erlaubt: {allowed} %). Bitte "
    "korrigieren Sie den Steuersatz oder das Rechnungs-/Leistungsdatum.",
)
LINE_DISCOUNT_OUT_OF_RANGE = ReasonSpec(
    "LINE_DISCOUNT_OUT_OF_RANGE", "lines.discount_percentage",
    "Line {position} has a discount of {value} %; it must be between 0 and 100.",
    "Position {position} hat einen Rabatt von {value} %; er muss zwischen 0 und 100 liegen.",
)
LINE_DISCOUNT_TOO_PRECISE = ReasonSpec(
    "LINE_DISCOUNT_TOO_PRECISE", "lines.discount_percentage",
    "Line {position} has a discount of {value} % with more than 2 decimal places; Lexware Office accepts at "
    "most 2. Round it.",
    "Position {position} hat einen Rabatt von {value} % mit mehr als 2 Nachkommastellen; Lexware Office erlaubt "
    "höchstens 2. Bitte runden Sie ihn.",
)

# --- bank transactions ----------------------------------------------------------------------------------

TXN_NOT_COMPLETED = ReasonSpec(
    "TXN_NOT_COMPLETED", "status",
    "The transaction is {status}; only completed transactions are sent to Lexware Office.",
    "Die Transaktion ist {status}; nur abgeschlossene Transaktionen werden an Lexware Office übertragen.",
)
TXN_BEFORE_EXPORT_SINCE = ReasonSpec(
    "TXN_BEFORE_EXPORT_SINCE", "completed_at",
    "The transaction was completed on {completed_at}, before the \u201cexport data since\u201d date "
    "{export_since} of this connection, so it is not sent.",
    "Die Transaktion wurde am {completed_at} abgeschlossen, vor dem Datum \u201eDaten exportieren seit\u201c "
    "({export_since}) dieser Verbindung; sie wird daher nicht übertragen.",
)
TXN_ACCOUNT_NOT_OWN = ReasonSpec(
    "TXN_ACCOUNT_NOT_OWN", "account.is_own",
    "The transaction belongs to an account connected from another bank (multi-banking); only accounts held at "
    "this bank are sent. Connect the other bank to Lexware Office directly.",
    "Die Transaktion gehört zu einem per Multi-Banking angebundenen Konto einer anderen Bank; übertragen werden "
    "nur Konten bei dieser Bank. Bitte verbinden Sie die andere Bank direkt mit Lexware Office.",
)
TXN_CURRENCY_NOT_EUR = ReasonSpec(
    "TXN_CURRENCY_NOT_EUR", "currency",
    "The transaction's currency is {value}; Lexware Office accepts only EUR transactions.",
    "Die Währung der Transaktion ist {value}; Lexware Office übernimmt nur Transaktionen in EUR.",
)
TXN_AMOUNT_ZERO = ReasonSpec(
    "TXN_AMOUNT_ZERO", "amount",
    "The transaction amount is {value}; Lexware Office needs a non-zero amount.",
    "Der Betrag der Transaktion ist {value}; Lexware Office braucht einen Betrag ungleich 0.",
)
TXN_AMOUNT_TOO_PRECISE = ReasonSpec(
    "TXN_AMOUNT_TOO_PRECISE", "amount",
    "The transaction amount {value} has more than 2 decimal places; Lexware Office accepts cents only.",
    "Der Betrag {value} hat mehr als 2 Nachkommastellen; Lexware Office übernimmt nur volle Cent.",
)
TXN_AMOUNT_INVALID = ReasonSpec(
    "TXN_AMOUNT_INVALID", "amount",
    "The transaction amount {value} is not a number (for example NaN or Infinity). Correct it in the source.",
    "Der Betrag der Transaktion {value} ist keine Zahl (z. B. NaN oder Infinity). Bitte korrigieren Sie ihn im "
    "Quellsystem.",
)
TXN_AMOUNT_OUT_OF_RANGE = ReasonSpec(
    "TXN_AMOUNT_OUT_OF_RANGE", "amount",
    "The transaction amount {value} is larger than {limit} EUR, more than Lexware Office can take exactly. "
    "Correct it in the source (often cents written as euros).",
    "Der Betrag der Transaktion {value} ist größer als {limit} EUR, mehr als Lexware Office genau übernehmen kann. "
    "Bitte korrigieren Sie ihn im Quellsystem (oft Cent als Euro geschrieben).",
)
TXN_ACCOUNT_CURRENCY_NOT_EUR = ReasonSpec(
    "TXN_ACCOUNT_CURRENCY_NOT_EUR", "account.currency",
    "The account is kept in {value}; Lexware Office takes only EUR accounts, so its transactions are not sent. "
    "Book them in Lexware Office by hand, or correct the account's currency at the bank if it is wrong.",
    "Das Konto wird in {value} geführt; Lexware Office übernimmt nur Konten in EUR, seine Transaktionen werden "
    "daher nicht übertragen. Bitte buchen Sie sie in Lexware Office von Hand, oder lassen Sie eine falsche "
    "Kontowährung bei der Bank korrigieren.",
)
TXN_ACCOUNT_IBAN_MISSING = ReasonSpec(
    "TXN_ACCOUNT_IBAN_MISSING", "account.iban",
    "The bank account has no IBAN; Lexware Office needs it for a bank account (card accounts may have none). "
    "Enter the IBAN in the bank's account data.",
    "Das Bankkonto hat keine IBAN; Lexware Office braucht sie für ein Bankkonto (Kartenkonten dürfen ohne sein). "
    "Bitte ergänzen Sie die IBAN in den Kontodaten der Bank.",
)
TXN_ACCOUNT_IBAN_INVALID = ReasonSpec(
    "TXN_ACCOUNT_IBAN_INVALID", "account.iban",
    "The account's IBAN {value} is not valid (wrong format or check digits); Lexware Office would refuse the "
    "account. Correct it in the bank's account data.",
    "Die IBAN des Kontos {value} ist ungültig (Format oder Prüfziffer falsch); Lexware Office würde das Konto "
    "ablehnen. Bitte korrigieren Sie sie in den Kontodaten der Bank.",
)
TXN_PURPOSE_TOO_LONG = ReasonSpec(
    "TXN_PURPOSE_TOO_LONG", "purpose",
    "The purpose has {length} characters; at most {limit} are sent to Lexware Office. Correct it in the source.",
    "Der Verwendungszweck hat {length} Zeichen; höchstens {limit} werden an Lexware Office übertragen. Bitte "
    "korrigieren Sie ihn im Quellsystem.",
)
TXN_DATE_INVALID = ReasonSpec(
    "TXN_DATE_INVALID", "booking_date",
    "The {which} of the transaction is missing or not a valid date ({value}).",
    "Das {which} der Transaktion fehlt oder ist kein gültiges Datum ({value}).",
)
TXN_COUNTERPARTY_IBAN_MISSING = ReasonSpec(
    "TXN_COUNTERPARTY_IBAN_MISSING", "counterparty_iban",
    "The {kind} has no counterparty IBAN; transfers and direct debits need one.",
    "Die {kind} hat keine IBAN des Zahlungspartners; Überweisungen und Lastschriften brauchen eine.",
)
TXN_COUNTERPARTY_IBAN_INVALID = ReasonSpec(
    "TXN_COUNTERPARTY_IBAN_INVALID", "counterparty_iban",
    "The counterparty IBAN {value} is not valid (wrong format or check digits).",
    "Die IBAN des Zahlungspartners {value} ist ungültig (Format oder Prüfziffer falsch).",
)
TXN_TEXT_CONTROL_CHARACTERS = ReasonSpec(
    "TXN_TEXT_CONTROL_CHARACTERS", "purpose",
    "The {where} contains invisible control characters, which Lexware Office may reject.",
    "Das Feld {where} enthält unsichtbare Steuerzeichen, die Lexware Office ablehnen kann.",
)

# --- checked again at delivery, for both streams -------------------------------------------------------

BEFORE_EXPORT_SINCE = ReasonSpec(
    "BEFORE_EXPORT_SINCE", "voucher_date",
    "The document is dated {date} ({what}), before the \u201cexport data since\u201d date {export_since} "
    "of this connection (it was moved forward after the document was staged), so it is not sent.",
    "Das Dokument ist auf den {date} datiert ({what}), vor dem Datum \u201eDaten exportieren seit\u201c "
    "({export_since}) dieser Verbindung (es wurde nach dem Einlesen vorverlegt); es wird daher nicht übertragen.",
)

INVOICE_REASONS: tuple[ReasonSpec, ...] = (
    COMPANY_NAME_MISSING, COMPANY_ADDRESS_INCOMPLETE, COMPANY_TAX_ID_MISSING, COMPANY_VAT_ID_INVALID,
    ACCOUNTING_NOT_LICENSED, ACCOUNTING_SOFTWARE_NOT_LEXOFFICE,
    CUSTOMER_MISSING, CUSTOMER_NAME_MISSING, CUSTOMER_SALUTATION_TOO_LONG, CUSTOMER_ADDRESS_INCOMPLETE,
    CUSTOMER_COUNTRY_INVALID, CUSTOMER_EMAIL_INVALID, CUSTOMER_VAT_ID_INVALID, CUSTOMER_FIELD_TOO_LONG,
    VOUCHER_DATE_MISSING, VOUCHER_DATE_INVALID, SERVICE_DATE_INVALID, SERVICE_PERIOD_INCOMPLETE,
    SERVICE_PERIOD_END_BEFORE_START, CURRENCY_NOT_EUR, TITLE_TOO_LONG, INTRODUCTION_TOO_LONG, REMARK_TOO_LONG,
    REFERENCE_LINE_TOO_LONG, TEXT_CONTROL_CHARACTERS, NO_LINES, TOO_MANY_LINES,
    LINE_NAME_MISSING, LINE_NAME_TOO_LONG, LINE_DESCRIPTION_TOO_LONG, LINE_UNIT_MISSING,
    LINE_QUANTITY_OUT_OF_RANGE, LINE_QUANTITY_TOO_PRECISE, LINE_PRICE_OUT_OF_RANGE, LINE_PRICE_TOO_PRECISE,
    LINE_PRICE_KIND_MISMATCH, LINE_TAX_RATE_INVALID, LINE_DISCOUNT_OUT_OF_RANGE, LINE_DISCOUNT_TOO_PRECISE,
)

TRANSACTION_REASONS: tuple[ReasonSpec, ...] = (
    TXN_NOT_COMPLETED, TXN_BEFORE_EXPORT_SINCE, TXN_ACCOUNT_NOT_OWN,
    TXN_ACCOUNT_CURRENCY_NOT_EUR, TXN_ACCOUNT_IBAN_MISSING, TXN_ACCOUNT_IBAN_INVALID, TXN_CURRENCY_NOT_EUR,
    TXN_AMOUNT_INVALID, TXN_AMOUNT_ZERO, TXN_AMOUNT_OUT_OF_RANGE, TXN_AMOUNT_TOO_PRECISE, TXN_DATE_INVALID,
    TXN_COUNTERPARTY_IBAN_INVALID, TXN_PURPOSE_TOO_LONG,
)

#: Checked when a document is about to be sent, whatever staged it (nightly, backfill, manual selection).
DELIVERY_REASONS: tuple[ReasonSpec, ...] = (BEFORE_EXPORT_SINCE,)

#: Reasons of both streams (rows and their ids, before any stream-specific rule).
SHARED_REASONS: tuple[ReasonSpec, ...] = (SOURCE_ID_TOO_LONG, SOURCE_TIMESTAMP_INVALID)

#: Reasons no rule reports any more; kept so that rows staged by older versions still render. A transfer
#: without counterparty IBAN is sent without it, and control characters in a purpose or counterparty name
#: are cleaned and sent (the bank's customer cannot fix what the payment carried).
RETIRED_REASONS: tuple[ReasonSpec, ...] = (TXN_COUNTERPARTY_IBAN_MISSING, TXN_TEXT_CONTROL_CHARACTERS)

CATALOGUE: dict[str, ReasonSpec] = {
    spec.code: spec
    for spec in (*SHARED_REASONS, *INVOICE_REASONS, *TRANSACTION_REASONS, *DELIVERY_REASONS, *RETIRED_REASONS)
}

#: The listing order of a document's reasons: catalogue order.
RANK: dict[str, int] = {code: rank for rank, code in enumerate(CATALOGUE)}


def line_field(column: str, position: int) -> str:
    """The field of a line-level reason, naming the line by its position as people see it."""
    return f"lines[{position}].{column}"

"""Contact rules of the Lexware contacts endpoint, reported as legacy ``IssueList`` entries.

Create and update accept only what the API accepts: ``version`` (0 on create), at least one role, a company
*or* a person, at most one billing and one shipping address (each with a countryCode), one entry per e-mail
and phone list and one contact person. Customer and vendor numbers are assigned here and cannot be set.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import Issue
from sandbox.jsonbody import is_number
from sandbox.records import Organization

COUNTRY_CODE = re.compile(r"[A-Z]{2}(_[A-Z0-9]{2})?")
EMAIL_LISTS = ("business", "office", "private", "other")
PHONE_LISTS = ("business", "office", "mobile", "private", "fax", "other")
ROLES = ("customer", "vendor")
MAX_NOTE = 1000
MAX_SALUTATION = 25


def missing(source: str) -> Issue:
    return Issue("missing_entity", source)


def invalid(source: str, detail: str | None = None) -> Issue:
    return Issue("invalid_value", source, additional_data=detail)


def contact_issues(body: Any) -> list[Issue]:
    """Everything wrong with a create/update body (the ``version`` rule is checked by the caller)."""
    if not isinstance(body, dict):
        return [invalid("contact", "body must be a JSON object")]
    issues: list[Issue] = []
    if "version" not in body or body["version"] is None:
        issues.append(missing("version"))
    elif not is_number(body["version"]):
        issues.append(invalid("version"))
    issues += _role_issues(body.get("roles"))
    company, person = body.get("company"), body.get("person")
    if company is None and person is None:
        issues.append(missing("company"))
    elif company is not None and person is not None:
        issues.append(invalid("company", "company and person are mutually exclusive"))
    elif company is not None:
        issues += _company_issues(company)
    else:
        issues += _person_issues(person)
    issues += _address_issues(body.get("addresses"))
    issues += _single_entry_lists(body.get("emailAddresses"), "emailAddresses", EMAIL_LISTS)
    issues += _single_entry_lists(body.get("phoneNumbers"), "phoneNumbers", PHONE_LISTS)
    note = body.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        issues.append(invalid("note", f"at most {MAX_NOTE} characters"))
    return issues


def _role_issues(roles: Any) -> list[Issue]:
    if roles is None:
        return [missing("roles")]
    if not isinstance(roles, dict) or not any(r in roles for r in ROLES):
        return [Issue("missing_entity", "roles", additional_data="customer and/or vendor required")]
    issues = [invalid(f"roles.{name}") for name in roles if name not in ROLES]
    issues += [invalid(f"roles.{name}") for name in ROLES if name in roles and not isinstance(roles[name], dict)]
    return issues


def _company_issues(company: Any) -> list[Issue]:
    if not isinstance(company, dict):
        return [invalid("company")]
    issues = []
    if not _non_empty_string(company.get("name")):
        issues.append(missing("company.name"))
    persons = company.get("contactPersons")
    if persons is not None:
        if not isinstance(persons, list):
            issues.append(invalid("company.contactPersons"))
        elif len(persons) > 1:
            issues.append(invalid("company.contactPersons", "at most one contact person"))
        else:
            for person in persons:
                issues += _person_issues(person, "company.contactPersons[0]")
    return issues


def _person_issues(person: Any, source: str = "person") -> list[Issue]:
    if not isinstance(person, dict):
        return [invalid(source)]
    issues = []
    if not _non_empty_string(person.get("lastName")):
        issues.append(missing(f"{source}.lastName"))
    salutation = person.get("salutation")
    if salutation is not None and (not isinstance(salutation, str) or len(salutation) > MAX_SALUTATION):
        issues.append(invalid(f"{source}.salutation", f"at most {MAX_SALUTATION} characters"))
    return issues


def _address_issues(addresses: Any) -> list[Issue]:
    if addresses is None:
        return []
    if not isinstance(addresses, dict):
        return [invalid("addresses")]
    issues = []
    for kind, entries in addresses.items():
        if kind not in ("billing", "shipping") or not isinstance(entries, list):
            issues.append(invalid(f"addresses.{kind}"))
            continue
        if len(entries) > 1:
            issues.append(invalid(f"addresses.{kind}", "at most one address"))
        for index, entry in enumerate(entries):
            source = f"addresses.{kind}[{index}].countryCode"
            code = entry.get("countryCode") if isinstance(entry, dict) else None
            if code is None:
                issues.append(missing(source))
            elif not isinstance(code, str) or not COUNTRY_CODE.fullmatch(code):
                issues.append(invalid(source))
    return issues


def _single_entry_lists(value: Any, name: str, allowed: tuple[str, ...]) -> list[Issue]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [invalid(name)]
    issues = []
    for kind, entries in value.items():
        if kind not in allowed or not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            issues.append(invalid(f"{name}.{kind}"))
        elif len(entries) > 1:
            issues.append(invalid(f"{name}.{kind}", "at most one entry per list"))
    return issues


def _non_empty_string(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def assign_roles(requested: dict[str, Any], existing: dict[str, Any] | None, org: Organization) -> dict[str, Any]:
    """Roles with Lexware-assigned numbers; numbers sent by the client are ignored, existing ones kept."""
    roles: dict[str, Any] = {}
    for name in ROLES:
        if name not in requested:
            continue
        number = (existing or {}).get(name, {}).get("number")
        if number is None:
            if name == "customer":
                number, org.next_customer_number = org.next_customer_number, org.next_customer_number + 1
            else:
                number, org.next_vendor_number = org.next_vendor_number, org.next_vendor_number + 1
        roles[name] = {"number": number}
    return roles


WRITABLE_FIELDS = ("company", "person", "addresses", "xRechnung", "emailAddresses", "phoneNumbers", "note")


def writable_part(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in WRITABLE_FIELDS if body.get(k) is not None}


def display_name(contact: dict[str, Any]) -> str:
    """The name an invoice shows: the company name, or "first last" for a person."""
    if "company" in contact:
        return str(contact["company"].get("name", ""))
    person = contact.get("person", {})
    return " ".join(p for p in (person.get("firstName"), person.get("lastName")) if p)


def searchable_names(contact: dict[str, Any]) -> list[str]:
    names = [display_name(contact)]
    person = contact.get("person")
    if person:
        names.append(" ".join(p for p in (person.get("lastName"), person.get("firstName")) if p))
    return names


def searchable_emails(contact: dict[str, Any]) -> list[str]:
    emails = [e for entries in contact.get("emailAddresses", {}).values() for e in entries]
    for person in contact.get("company", {}).get("contactPersons", []) or []:
        if person.get("emailAddress"):
            emails.append(person["emailAddress"])
    return emails

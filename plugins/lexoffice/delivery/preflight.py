"""Checks that must pass before anything is sent for a tenant.

A failed check raises :class:`TenantBlocked` with a message a person can act on; the tenant's documents stay
pending and the other tenants go on.
"""

from __future__ import annotations

from typing import Any

from lexoffice.delivery.result import TenantBlocked
from lexoffice.state.tenants import Tenant

LEXOFFICE_SOFTWARE = "lexoffice"


def check_tenant_connected(tenant: Tenant) -> None:
    if not tenant.connected:
        raise TenantBlocked(
            f"tenant {tenant.tenant_id} ({tenant.name}) is disconnected from Lexware Office: documents are staged "
            f"but not sent. Reconnect it with `lexoffice tenant reconnect {tenant.tenant_id}`; everything staged "
            "in between is delivered by the next run."
        )


def check_profile(tenant: Tenant, profile: dict[str, Any], *, refuse_small_business: bool) -> None:
    """The organisation must be the one the tenant first connected to, and (for invoices) no Kleinunternehmer."""
    org = profile.get("organizationId")
    if tenant.organization_id and org != tenant.organization_id:
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: the Lexware connection now points at organisation {org} "
            f"({profile.get('companyName')!r}), but this tenant was connected to {tenant.organization_id}. "
            "Nothing was sent. Check the API key / authorisation of the tenant's connection."
        )
    if refuse_small_business and profile.get("smallBusiness"):
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: Lexware Office organisation {profile.get('companyName')!r} is set up as a "
            "small business (Kleinunternehmer, §19 UStG). Invoice drafts with VAT cannot be created there. Nothing "
            "was sent. Turn off 'Kleinunternehmen' in Lexware Office (or remove the tenant) and run again."
        )


def check_not_shared(tenant: Tenant, others: list[str]) -> None:
    """No other tenant may deliver the same source company into this organisation (``others`` from
    ``tenants.tenants_sharing_organisation``): every document would be sent twice."""
    if others:
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: tenant {others[0]} delivers the same source company into the same Lexware "
            f"organisation {tenant.organization_id}; every document would be sent twice. Nothing was sent. Remove "
            f"one of the two tenants (`lexoffice tenant list`). / Mandant {others[0]} überträgt dieselbe Firma in "
            "dieselbe Lexware-Organisation; es wurde nichts gesendet."
        )


def check_company_settings(tenant: Tenant, company: dict[str, Any] | None) -> None:
    """The field-service company must have the accounting feature licensed and Lexware Office chosen."""
    if company is None:
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: company {tenant.invoice_company_id} does not exist in the field-service "
            f"source database. Fix the tenant's invoice company id (`lexoffice tenant update {tenant.tenant_id} "
            "--invoice-company ID`)."
        )
    if not company.get("accounting_licensed"):
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: the accounting feature (Rechnungswesen) is not licensed for company "
            f"{company.get('name')!r}. Nothing was sent. Enable it in the licence, then run again."
        )
    software = (company.get("accounting_software") or "").lower()
    if software != LEXOFFICE_SOFTWARE:
        raise TenantBlocked(
            f"tenant {tenant.tenant_id}: company {company.get('name')!r} has chosen accounting software "
            f"{company.get('accounting_software')!r}, not Lexware Office. Nothing was sent. Choose LexOffice under "
            "Settings → Invoicing → Accounting software, then run again."
        )

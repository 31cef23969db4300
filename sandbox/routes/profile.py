"""``GET /v1/profile``: the organisation behind the token (Kleinunternehmer? which company? which connection?)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.routes.common import ok, principal_of, state_of

router = APIRouter()


@router.get("/v1/profile")
async def profile(request: Request) -> JSONResponse:
    state, principal = state_of(request), principal_of(request)
    with state.lock:
        org = state.organizations[principal.organization_id]
        body = {
            "organizationId": org.organization_id,
            "companyName": org.company_name,
            "created": {"userId": org.user_id, "userName": "Sandbox Nutzer",
                        "userEmail": "sandbox@example.org", "date": org.created_date},
            "connectionId": principal.connection_id,
            "features": ["cashbox"],
            "businessFeatures": list(org.business_features),
            "subscriptionStatus": "active",
            "taxType": org.tax_type,
            "smallBusiness": org.small_business,
            "distanceSalesPrinciple": org.distance_sales_principle,
        }
    return ok(body)

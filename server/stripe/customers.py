"""/v1/customers: create, retrieve, update, delete, list (``email`` filter)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from server.deps import Calls_, Tenant_
from server.stripe import ids, paging, params, views
from server.stripe.errors import RESPONSES, StripeRoute
from server.stripe.intents import respond
from server.stripe.openapi import PAGING, form, query

router = APIRouter(route_class=StripeRoute, responses=RESPONSES, tags=["stripe"])
_FORM = form("email", "name", "description", "metadata")


@router.post("/customers", summary="Create a Customer", openapi_extra=_FORM)
async def create(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    key = params.idempotency_key(request)
    out = await c.write(
        lambda e: e.create_customer(
            t.id, email=params.text(sent, "email"), name=params.text(sent, "name"),
            description=params.text(sent, "description"), metadata=params.metadata(sent),
            idempotency_key=key,
        ), t.id,
    )  # fmt: skip
    return respond(views.customer(out.value), out.replayed)


def _id(stripe_id: str) -> str:
    return ids.decode("customer", stripe_id)[0]


@router.get("/customers/{customer}", summary="Retrieve a Customer")
async def retrieve(customer: str, t: Tenant_, c: Calls_) -> JSONResponse:
    return respond(
        views.customer(await c.read(lambda e: e.get_customer(t.id, _id(customer)))), False
    )


@router.post("/customers/{customer}", summary="Update a Customer", openapi_extra=_FORM)
async def update(customer: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    customer_id, key = _id(customer), params.idempotency_key(request)
    out = await c.write(
        lambda e: e.update_customer(
            t.id, customer_id, email=sent.get("email"), name=sent.get("name"),
            description=sent.get("description"), metadata=params.metadata(sent),
            idempotency_key=key,
        ), t.id,
    )  # fmt: skip
    return respond(views.customer(out.value), out.replayed)


@router.delete("/customers/{customer}", summary="Delete a Customer")
async def delete(customer: str, request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    customer_id, key = _id(customer), params.idempotency_key(request)
    out = await c.write(lambda e: e.delete_customer(t.id, customer_id, idempotency_key=key), t.id)
    return respond({"id": customer, "object": "customer", "deleted": True}, out.replayed)


@router.get("/customers", summary="List Customers, newest first",
            openapi_extra=query(*PAGING, "email"))  # fmt: skip
async def listing(request: Request, t: Tenant_, c: Calls_) -> JSONResponse:
    sent = await params.of(request)
    email = params.text(sent, "email")
    rows = [views.customer(x) for x in await c.read(lambda e: e.list_customers(t.id, email=email))]
    return respond(paging.listing(rows, sent, "/v1/customers"), False)

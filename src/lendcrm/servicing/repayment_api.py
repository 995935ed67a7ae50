"""REST API for repayments (list, detail, post, import from a core-banking file) and delinquency (buckets,
a party's and its group's roll-up): parse, call a service or selector, render."""

from typing import Any

from django.conf import settings
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lendcrm.core.api import (
    IDEMPOTENCY_PARAMETER,
    StrictSerializer,
    acting_user,
    idempotent,
    paginate,
    paginated,
    parse,
    parse_query,
    problems,
)
from lendcrm.core.fields import Choice, DecimalText, Flag, Text, id_field, query_id_field
from lendcrm.core.fields import Day as DayField
from lendcrm.core.money import CURRENCIES, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from lendcrm.servicing import repayment_import
from lendcrm.servicing.models import Repayment, RepaymentSource
from lendcrm.servicing.services import delinquency, prepayments
from lendcrm.servicing.services.repayments import MAX_REFERENCE, get_repayment, post_repayment, repayment_list


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, read_only=True, **kwargs
    )


class RepaymentSerializer(serializers.ModelSerializer):
    facility_reference = serializers.CharField(source="facility.reference", read_only=True)
    borrower = serializers.IntegerField(source="facility.borrower_id", read_only=True)
    amount = _money()
    to_fees = _money()
    to_interest = _money()
    to_principal = _money()
    prepaid_principal = _money()
    unapplied = _money(
        help_text=_("Received but not allocated: beyond the current instalment, kept as it is.")
    )

    class Meta:
        model = Repayment
        fields = [
            "id",
            "facility",
            "facility_reference",
            "borrower",
            "reference",
            "value_date",
            "amount",
            "currency",
            "source",
            "is_prepayment",
            "to_fees",
            "to_interest",
            "to_principal",
            "prepaid_principal",
            "unapplied",
            "posted_at",
            "posted_by",
        ]
        read_only_fields = fields


class RepaymentQuery(serializers.Serializer):
    facility = query_id_field(required=False)
    borrower = query_id_field(required=False)
    source = serializers.ChoiceField(choices=RepaymentSource.choices, required=False)  # type: ignore[assignment]
    is_prepayment = serializers.BooleanField(
        required=False, help_text=_("Only early repayments (true) or only others (false).")
    )
    value_from = serializers.DateField(required=False, help_text=_("Value date on or after."))
    value_to = serializers.DateField(required=False, help_text=_("Value date on or before."))


class RepaymentInput(StrictSerializer):
    facility = id_field()
    reference = Text(
        max_length=MAX_REFERENCE, help_text=_("Unique per facility; the same one again is a retry.")
    )
    value_date = DayField()
    amount = DecimalText(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    currency = Choice(choices=list(CURRENCIES), required=False, help_text=_("Must be the facility's."))
    is_prepayment = Flag(
        required=False,
        default=False,
        help_text=_("Repay principal early with what is left after the arrears (a new schedule version)."),
    )


class ImportInput(StrictSerializer):
    csv = Text(
        max_length=2_000_000,
        help_text=_(
            "The file's text: a header naming facility, reference, value_date, amount, currency "
            "(and optionally is_prepayment), then one repayment per line."
        ),
    )


class ImportRowSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    facility = serializers.CharField()
    reference = serializers.CharField()
    repayment = serializers.IntegerField(source="repayment.pk")
    already_posted = serializers.BooleanField()


class ImportResultSerializer(serializers.Serializer):
    posted = serializers.IntegerField()
    already_posted = serializers.IntegerField()
    rows = ImportRowSerializer(many=True)


class BucketSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]
    low = serializers.IntegerField()
    high = serializers.IntegerField(allow_null=True)
    facilities = serializers.IntegerField()
    outstanding = _money()
    arrears = _money()


class BucketsSerializer(serializers.Serializer):
    as_of = serializers.DateField()
    currency = serializers.CharField()
    buckets = BucketSerializer(many=True)


class BucketQuery(serializers.Serializer):
    as_of = serializers.DateField(required=False, help_text=_("Default: today."))


class RollupSerializer(serializers.Serializer):
    currency = serializers.CharField()
    facilities = serializers.IntegerField()
    outstanding = _money()
    arrears = _money()
    max_days_past_due = serializers.IntegerField()


class PayoffSerializer(serializers.Serializer):
    value_date = serializers.DateField()
    currency = serializers.CharField()
    arrears = _money(help_text=_("Unpaid on instalments due on or before the value date."))
    begun = _money(help_text=_("The rest of instalments already paid ahead in part."))
    accrued_interest = _money()
    principal = _money()
    fee = _money(help_text=_("The prepayment fee on the principal."))
    total = _money(help_text=_("Post this as an early repayment on the value date to repay everything."))


class PayoffQuery(serializers.Serializer):
    value_date = serializers.DateField(required=False, help_text=_("Default: today."))


class PartyDelinquencySerializer(serializers.Serializer):
    party = RollupSerializer()
    group = RollupSerializer(help_text=_("Every party connected to it; members you cannot see count too."))


class RepaymentList(APIView):
    @extend_schema(
        parameters=[RepaymentQuery],
        responses={200: paginated(RepaymentSerializer), **problems(400)},
        operation_id="repayments_list",
        summary="Repayments you may see, newest value date first",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        query = parse_query(RepaymentQuery, request.query_params)
        rows = repayment_list(
            viewer=viewer,
            facility_id=query.get("facility"),
            borrower_id=query.get("borrower"),
            source=query.get("source"),
            is_prepayment=query.get("is_prepayment"),
            value_from=query.get("value_from"),
            value_to=query.get("value_to"),
        )
        return paginate(request, self, rows, RepaymentSerializer)

    @extend_schema(
        request=RepaymentInput,
        responses={
            201: RepaymentSerializer,
            200: RepaymentSerializer,
            **problems(400, 403, 404, 409, 422),
        },
        parameters=[IDEMPOTENCY_PARAMETER],
        summary="Post a repayment (loan operations); allocated at once",
        description=(
            "201 with the allocation; 200 with the stored repayment when the facility already has one with "
            "this reference and the same details, 409 `repayment_reference_reused` when the details differ."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(RepaymentInput, request.data)
        known = Repayment.objects.filter(
            facility_id=data["facility"], reference=data["reference"].strip()
        ).exists()
        repayment = post_repayment(
            actor=actor,
            facility_id=data["facility"],
            amount=data["amount"],
            value_date=data["value_date"],
            reference=data["reference"],
            is_prepayment=data["is_prepayment"],
            currency=data.get("currency"),
        )
        found = get_repayment(viewer=actor, repayment_id=repayment.pk)
        code = status.HTTP_200_OK if known else status.HTTP_201_CREATED
        return Response(RepaymentSerializer(found).data, status=code)


class RepaymentDetail(APIView):
    @extend_schema(
        responses={200: RepaymentSerializer, **problems(404)}, summary="A repayment and where it went"
    )
    def get(self, request: Request, pk: int) -> Response:
        found = get_repayment(viewer=acting_user(request), repayment_id=pk)
        return Response(RepaymentSerializer(found).data)


class RepaymentImport(APIView):
    @extend_schema(
        request=ImportInput,
        responses={200: ImportResultSerializer, **problems(400, 403)},
        summary="Import a core-banking repayment file (CSV), all rows or none",
        description=(
            "Every row is validated and posted in one transaction; any refusal keeps nothing and answers 400 "
            "with errors by the file's line number (`rows.5.amount`; the header is line 1). Rows already "
            "posted with the same details are reported with `already_posted` and change nothing."
        ),
    )
    def post(self, request: Request) -> Response:
        actor = acting_user(request)
        data = parse(ImportInput, request.data)
        rows = repayment_import.import_repayments(actor=actor, content=data["csv"])
        again = sum(1 for row in rows if row.already_posted)
        payload = {"posted": len(rows) - again, "already_posted": again, "rows": rows}
        return Response(ImportResultSerializer(payload).data)


class DelinquencyBuckets(APIView):
    @extend_schema(
        parameters=[BucketQuery],
        responses={200: BucketsSerializer, **problems(400)},
        summary="Overdue facilities by days past due (1-30, 31-60, 61-90, 90+) in the base currency",
    )
    def get(self, request: Request) -> Response:
        viewer = acting_user(request)
        as_of = parse_query(BucketQuery, request.query_params).get("as_of") or timezone.localdate()
        buckets = delinquency.delinquency_buckets(viewer=viewer, as_of=as_of)
        payload = {
            "as_of": as_of,
            "currency": settings.LENDCRM_BASE_CURRENCY,
            "buckets": [{**bucket.__dict__, "label": bucket.label} for bucket in buckets],
        }
        return Response(BucketsSerializer(payload).data)


class PartyDelinquency(APIView):
    @extend_schema(
        responses={200: PartyDelinquencySerializer, **problems(404)},
        summary="A party's and its group's outstanding, arrears and worst days past due",
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = acting_user(request)
        payload = {
            "party": delinquency.party_delinquency(viewer=viewer, party_id=pk),
            "group": delinquency.group_delinquency(viewer=viewer, party_id=pk),
        }
        return Response(PartyDelinquencySerializer(payload).data)


class FacilityPayoff(APIView):
    @extend_schema(
        parameters=[PayoffQuery],
        responses={200: PayoffSerializer, **problems(400, 404)},
        summary="What repays a facility in full on a date (arrears, accrued interest, principal, fee)",
    )
    def get(self, request: Request, pk: int) -> Response:
        viewer = acting_user(request)
        value_date = parse_query(PayoffQuery, request.query_params).get("value_date") or timezone.localdate()
        quote = prepayments.payoff_quote(viewer=viewer, facility_id=pk, value_date=value_date)
        payload = {**quote.__dict__, "total": quote.total}
        return Response(PayoffSerializer(payload).data)


urlpatterns = [
    path("repayments/", RepaymentList.as_view(), name="repayment-list"),
    path("repayments/import/", RepaymentImport.as_view(), name="repayment-import"),
    path("repayments/<int:pk>/", RepaymentDetail.as_view(), name="repayment-detail"),
    path("delinquency/buckets/", DelinquencyBuckets.as_view(), name="delinquency-buckets"),
    path("facilities/<int:pk>/payoff/", FacilityPayoff.as_view(), name="facility-payoff"),
    path("parties/<int:pk>/delinquency/", PartyDelinquency.as_view(), name="party-delinquency"),
]

"""Login lockout (django-axes) on the pair account name + client address, and on the address alone
at a higher limit.

- ``AXES_FAILURE_LIMIT`` wrong passwords for one name from one address lock that name **from that
  address** (``AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]``). The same name still logs in
  from any other address, so nobody can lock the real ``admin`` out by guessing its password.
- ``AXES_ADDRESS_FAILURE_LIMIT`` wrong passwords from one address, whatever the names, lock that
  address (0: no address limit). A success resets only its own pair, so one valid account does not
  buy an address more guesses at the others.
- Both last ``AXES_COOLOFF_TIME``; staff lift them earlier in the admin (Axes › Access attempts) or
  with ``manage.py axes_reset_username NAME`` / ``axes_reset_ip ADDRESS``.

``settings.AXES_HANDLER`` names :class:`PairAndAddressHandler`, and ``settings.AXES_LOCKOUT_CALLABLE``
names :func:`lockout_response`, which says which of the two locks applies and its limit.
"""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Sum
from django.shortcuts import render

ADDRESS = "address"
ACCOUNT = "account"


def address_failures(request) -> int:
    """Wrong passwords from the request's address within the cool-off, whatever the names."""
    attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
    if settings.AXES_COOLOFF_TIME is not None:
        attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


def address_locked(request) -> bool:
    limit = settings.AXES_ADDRESS_FAILURE_LIMIT
    return limit > 0 and address_failures(request) >= limit


class PairAndAddressHandler(AxesDatabaseHandler):
    """django-axes' database handler, plus the per-address limit; marks ``request.axes_lock``."""

    def is_locked(self, request, credentials=None) -> bool:
        if super().is_locked(request, credentials):  # the pair name + address
            request.axes_lock = ACCOUNT
            return True
        if address_locked(request):
            request.axes_lock = ADDRESS
            return True
        return False

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is None or self.is_whitelisted(request, credentials):
            return
        if getattr(request, "axes_locked_out", False):
            request.axes_lock = getattr(request, "axes_lock", ACCOUNT)
            return
        if address_locked(request):  # this failure reached the address limit
            request.axes_locked_out = True
            request.axes_credentials = credentials
            request.axes_lock = ADDRESS
            user_locked_out.send("axes", request=request, username=get_client_username(request, credentials),
                                 ip_address=request.axes_ip_address)


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page (429): which lock applies, its limit and how long it lasts."""
    lock = getattr(request, "axes_lock", ACCOUNT)
    context = {
        "address_lock": lock == ADDRESS,
        "failure_limit": settings.AXES_ADDRESS_FAILURE_LIMIT if lock == ADDRESS else settings.AXES_FAILURE_LIMIT,
        "username": get_client_username(request, credentials) or "",
        "cooloff_timedelta": get_cool_off(request),
    }
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE)
